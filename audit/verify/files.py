"""Verifying a bundle: its log, then every file beside ``audit/`` against the SHA-256s its export
entry attests. Django-free."""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from audit.checkpoint import Verifier
from audit.verify.bundle import ENTRIES, Bundle
from audit.verify.log import VerifyResult, verify_log


def verify_bundle(
    path: str | os.PathLike[str], verifiers: Sequence[Verifier], *, origin: str | None = None
) -> VerifyResult:
    """Verify a bundle zip or folder: its log, then every file beside it; raise BundleError when it
    cannot be read."""
    with Bundle(path) as bundle:
        result = verify_log(
            bundle.entries(),
            checkpoints=bundle.checkpoints,
            verifiers=verifiers,
            leaf_hashes=bundle.leaf_hashes,
            origin=origin if origin is not None else bundle.origin,
            inclusion_proofs=bundle.inclusion_proofs,
            consistency_proofs=bundle.consistency_proofs,
            complete=bundle.complete,
        )
        if result.first_bad_index is None:
            extra: list[str] = []
            claimed = bundle.manifest.get("entries")
            if bundle.unterminated:
                extra.append(f"{ENTRIES} does not end with a newline")
            if claimed != result.entries:
                extra.append(f"manifest says {claimed!r} entries, the bundle holds {result.entries}")
                if isinstance(claimed, int) and not isinstance(claimed, bool) and bundle.complete:
                    result.first_bad_index = min(claimed, result.entries)
            if extra:
                reasons = extra if result.ok else [*extra, result.reason]
                result.ok = False
                result.reason = "; ".join(reasons)
        if result.ok:
            check_attachments(bundle, result)
    return result


_SHA256_HEX = frozenset("0123456789abcdef")


@dataclass
class _Attestation:
    index: int
    target: str
    files: dict[str, str]


def _attestation(bundle: Bundle) -> _Attestation | None:
    """The export entry of a partial bundle: the last of its entries whose ``data.files`` maps file
    names to SHA-256s. The exporter records the export after everything its report shows, so an
    earlier export among the entries never speaks for this bundle's files. Raises ValueError when
    that map is malformed."""
    found: tuple[int, dict[str, Any], object] | None = None
    for raw in bundle.entries():
        entry = json.loads(raw)
        data = entry.get("data")
        files = data.get("files") if isinstance(data, dict) else None
        if files is not None and (found is None or entry["index"] > found[0]):
            found = (entry["index"], entry, files)
    if found is None:
        return None
    index, entry, files = found
    if not isinstance(files, dict) or not all(
        isinstance(name, str) and isinstance(digest, str) and len(digest) == 64 and set(digest) <= _SHA256_HEX
        for name, digest in files.items()
    ):
        raise ValueError(f"entry {index} attests files, but not as a map of names to SHA-256 hex digests")
    target = entry.get("target")
    shown = f"{target.get('type')}:{target.get('id')}" if isinstance(target, dict) else "?"
    return _Attestation(index, shown, dict(files))


def _attested_problems(bundle: Bundle, attestation: _Attestation) -> list[str]:
    problems = []
    present = {item.name: item for item in bundle.attachments if item.name is not None}
    for name, digest in sorted(attestation.files.items()):
        item = present.get(name)
        if item is None:
            problems.append(
                f"{bundle.root}{name} is attested by entry {attestation.index} but is not in the bundle"
            )
            continue
        try:
            matches = bundle.sha256(item) == digest
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            problems.append(f"{item.shown} cannot be read: {exc}")
            continue
        if not matches:
            problems.append(f"{item.shown} does not match the SHA-256 recorded in entry {attestation.index}")
    return problems


def check_attachments(bundle: Bundle, result: VerifyResult) -> None:
    """Every file beside ``audit/`` must be one the export entry attests, and each file it attests
    must be there with that SHA-256. A full bundle (the whole log) attests no file: its export entry
    records none. Failures name each file; the entries themselves are not blamed.
    """
    problems = list(bundle.layout_problems)
    attestation: _Attestation | None = None
    if not bundle.complete:
        try:
            attestation = _attestation(bundle)
        except ValueError as exc:
            problems.append(str(exc))
    files = attestation.files if attestation is not None else {}
    if attestation is not None:
        problems.extend(_attested_problems(bundle, attestation))
    problems.extend(
        f"{item.shown} is in the bundle but no entry attests its hash"
        for item in bundle.attachments
        if item.name not in files
    )
    if problems:
        result.ok = False
        result.reason = "; ".join(problems)
    elif attestation is not None:
        result.attested = (
            f"{len(files)} file(s) match their SHA-256 in entry {attestation.index} ({attestation.target})"
        )
    elif not bundle.complete:
        result.attested = "no entry attests a file"
