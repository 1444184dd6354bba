"""Offline verification of the audit log, and the audit bundle format.

Run ``python -m audit.verify BUNDLE --key VKEY`` on an exported bundle (zip or directory). Only the
standard library, ``cryptography`` and the Django-free modules :mod:`audit.merkle`,
:mod:`audit.checkpoint` and :mod:`audit.jcs` are imported, so an auditor needs nothing of the service.

:func:`verify_log` is the reusable core; the service calls it on entries streamed from its database.
Evidence is weighed strongest first, and a failure names the first index it can prove wrong:

a. checkpoints (C2SP signed notes) count only when a trusted key signed them;
b. the leaf-hash record kept outside the database is authenticated against those checkpoints (RFC 9162
   §2.1.1 roots) and then pins any changed entry to its exact index;
c. each entry is canonical JSON with a gapless ``index`` and a ``prev`` hash chain;
d. the RFC 9162 root recomputed over all entries must equal every trusted checkpoint (a full bundle),
   or e. every entry carries an RFC 9162 §2.1.3 inclusion proof (a partial bundle).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import struct
import sys
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from json import scanner as _json_scanner
from pathlib import Path
from typing import IO, Any

from audit.checkpoint import Checkpoint, NoteError, Verifier, verify_checkpoint
from audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

BUNDLE_FORMAT = "audit-bundle/1"
BUNDLE_DIR = "audit/"
MANIFEST = "manifest.json"
ENTRIES = "entries.jsonl"
CHECKPOINTS = "checkpoints.json"
KEYS = "keys.txt"
LEAF_HASHES = "leaf-hashes.bin"
PROOFS = "proofs.json"

GENESIS_PREV = "0" * 64
ENTRY_VERSION = 1
REQUIRED_FIELDS = frozenset(
    {"v", "index", "timestamp", "actor", "action", "target", "data", "request_id", "prev"}
)

_CHUNK = 4096
_READ_SIZE = 1 << 20


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 §6)")


# The C scanner behind json.loads, called directly: half the per-entry cost of json.loads, same grammar.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# typeshed describes make_scanner's argument as the scanner class itself; a decoder is what it takes.
_scan: Callable[[str, int], tuple[Any, int]] = _json_scanner.make_scanner(_DECODER)  # type: ignore[arg-type]


@dataclass
class VerifyResult:
    """Outcome of :func:`verify_log`. ``first_bad_index`` is the smallest index shown to be wrong."""

    ok: bool
    entries: int
    verified_tree_size: int
    first_bad_index: int | None
    reason: str
    checkpoints_verified: int
    verified_root: bytes = field(default=b"", repr=False)
    complete: bool = True  # the whole log from index 0, so entries past the verified size are uncovered
    attested: str = ""  # what the bundle's attested files came to, for the summary line

    @property
    def uncovered(self) -> int:
        """Entries no trusted checkpoint covers (they rest on the hash chain alone)."""
        return max(self.entries - self.verified_tree_size, 0) if self.complete else 0


@dataclass
class _Finding:
    index: int
    reason: str


_Proof = tuple[int, list[bytes]]  # (tree size, audit path)


class _Failure(Exception):
    def __init__(self, finding: _Finding) -> None:
        super().__init__(finding.reason)
        self.finding = finding


def _b64_nodes(values: object, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise ValueError(f"{what} must be a list of base64 hashes")
    nodes: list[bytes] = []
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"{what} must be a list of base64 hashes")
        try:
            nodes.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise ValueError(f"{what} holds invalid base64") from None
    return nodes


def _int_field(record: Mapping[str, Any], name: str, what: str) -> int:
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} needs a non-negative integer {name!r}")
    return value


def _claimed_size(note: str) -> str:
    # For the message only: what an untrusted note says about itself is not evidence.
    lines = note.split("\n", 2) if isinstance(note, str) else []
    return f" (claims tree size {lines[1][:20]})" if len(lines) > 2 else ""


class _LogVerifier:
    def __init__(
        self,
        *,
        checkpoints: Sequence[str],
        verifiers: Sequence[Verifier],
        leaf_hashes: bytes | None,
        origin: str | None,
        inclusion_proofs: Sequence[Mapping[str, Any]],
        consistency_proofs: Sequence[Mapping[str, Any]],
    ) -> None:
        self.problems: list[str] = []  # failures that no entry index can be blamed for
        self.trusted: dict[int, Checkpoint] = {}
        self.verified_size = 0
        self.verified_root = b""
        self.verified_count = 0
        self.count = 0
        self._load_checkpoints(checkpoints, verifiers, origin)
        self._load_record(leaf_hashes)
        self._check_consistency_proofs(consistency_proofs)
        self.inclusion = self._parse_inclusion_proofs(inclusion_proofs)

    # --- a. checkpoints ----------------------------------------------------------------------------
    def _load_checkpoints(
        self, notes: Sequence[str], verifiers: Sequence[Verifier], origin: str | None
    ) -> None:
        if notes and not verifiers:
            self.problems.append("no trusted verifier key was given, so no checkpoint can be trusted")
        for position, note in enumerate(notes, start=1):
            label = f"checkpoint #{position}{_claimed_size(note)}"
            try:
                checkpoint = verify_checkpoint(note, verifiers)
            except NoteError as exc:
                if verifiers:
                    self.problems.append(f"{label} is not trusted: {exc}")
                continue
            if origin is None:
                origin = checkpoint.origin
            if checkpoint.origin != origin:
                self.problems.append(f"{label} is for origin {checkpoint.origin!r}, not {origin!r}")
                continue
            known = self.trusted.get(checkpoint.size)
            if known is not None and known.root != checkpoint.root:
                # Two signed heads of one size: the log forked (or the key leaked). Neither is trusted.
                self.problems.append(
                    f"trusted checkpoints disagree on the root of tree size {checkpoint.size}"
                )
                continue
            if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
                self.problems.append("trusted checkpoint of size 0 does not carry the empty-tree root")
                continue
            self.trusted[checkpoint.size] = checkpoint
        self.sizes = sorted(size for size in self.trusted if size > 0)

    # --- b. the leaf-hash record -------------------------------------------------------------------
    def _load_record(self, leaf_hashes: bytes | None) -> None:
        self.record = b""
        self.record_size = 0  # hashes usable to pin entries
        self.record_authentic = 0  # prefix authenticated by a trusted checkpoint
        self.record_claims = 0  # how many entries the record says exist
        self.record_ranges: dict[int, CompactRange] = {0: CompactRange()}
        if leaf_hashes is None:
            return
        record = bytes(leaf_hashes)
        if len(record) % HASH_SIZE:
            self.problems.append(f"leaf-hash record is {len(record)} bytes, not a whole number of hashes")
            record = record[: len(record) - len(record) % HASH_SIZE]
        total = len(record) // HASH_SIZE
        tree = CompactRange()
        usable = total
        for size in [*(size for size in self.sizes if size <= total), total]:
            if size > tree.size:
                offsets = range(tree.size * HASH_SIZE, size * HASH_SIZE, HASH_SIZE)
                tree.extend([record[offset : offset + HASH_SIZE] for offset in offsets])
            self.record_ranges[size] = tree.copy()
            checkpoint = self.trusted.get(size)
            if checkpoint is None:
                continue
            if tree.root() != checkpoint.root:
                self.problems.append(
                    f"leaf-hash record does not match trusted checkpoint of tree size {size}: "
                    f"the record is not used beyond index {self.record_authentic}"
                )
                usable = self.record_authentic
                break
            self.record_authentic = size
        self.record = record[: usable * HASH_SIZE]
        self.record_size = usable
        self.record_claims = usable

    def _record_note(self, index: int) -> str:
        if index < self.record_authentic:
            return f"authenticated by the trusted checkpoint of tree size {self.record_authentic}"
        return f"beyond trusted checkpoint {self.record_authentic}, so not authenticated by a signature"

    # --- consistency and inclusion proofs ----------------------------------------------------------
    def _check_consistency_proofs(self, proofs: Sequence[Mapping[str, Any]]) -> None:
        for position, proof in enumerate(proofs, start=1):
            label = f"consistency proof #{position}"
            try:
                first = _int_field(proof, "first", label)
                second = _int_field(proof, "second", label)
                nodes = _b64_nodes(proof.get("proof"), f"{label} 'proof'")
            except ValueError as exc:
                self.problems.append(str(exc))
                continue
            old, new = self.trusted.get(first), self.trusted.get(second)
            if old is None or new is None:
                self.problems.append(f"{label} ({first} -> {second}) has no trusted checkpoint at both sizes")
                continue
            try:
                verify_consistency(first, second, old.root, new.root, nodes)
            except ProofError as exc:
                self.problems.append(f"{label} ({first} -> {second}) fails: {exc}")

    def _parse_inclusion_proofs(self, proofs: Sequence[Mapping[str, Any]]) -> dict[int, list[_Proof]]:
        by_index: dict[int, list[_Proof]] = {}
        for position, proof in enumerate(proofs, start=1):
            label = f"inclusion proof #{position}"
            try:
                index = _int_field(proof, "index", label)
                size = _int_field(proof, "tree_size", label)
                nodes = _b64_nodes(proof.get("proof"), f"{label} 'proof'")
            except ValueError as exc:
                self.problems.append(str(exc))
                continue
            by_index.setdefault(index, []).append((size, nodes))
        return by_index

    def _check_inclusion(self, index: int, leaf: bytes) -> None:
        for size, nodes in self.inclusion.get(index, ()):
            checkpoint = self.trusted.get(size)
            if checkpoint is None:
                raise _Failure(
                    _Finding(
                        index,
                        f"inclusion proof for entry {index} is against tree size {size}, "
                        "which has no trusted checkpoint",
                    )
                )
            try:
                verify_inclusion(leaf, index, size, nodes, checkpoint.root)
            except ProofError as exc:
                reason = f"entry {index} is not in the trusted tree of size {size}: {exc}"
                raise _Failure(_Finding(index, reason)) from None

    def _mark_verified(self, size: int) -> None:
        if size >= self.verified_size:
            self.verified_size = size
            self.verified_root = self.trusted[size].root
        self.verified_count += 1

    # --- c. one entry, looked at closely -----------------------------------------------------------
    @staticmethod
    def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str]:
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return None, "is not UTF-8"
        try:
            value, end = _scan(text, 0)
        except StopIteration:
            return None, "is not valid JSON"
        except ValueError as exc:
            return None, f"is not valid JSON ({exc})"
        if end != len(text):
            return None, "is not valid JSON (trailing bytes)"
        if not isinstance(value, dict):
            return None, "is not a JSON object"
        missing = sorted(REQUIRED_FIELDS - value.keys())
        if missing:
            return None, f"lacks field(s) {', '.join(missing)}"
        if value.get("v") != ENTRY_VERSION or isinstance(value.get("v"), bool):
            return None, f"has unsupported version v={value.get('v')!r}"
        return value, ""

    def _diagnose(
        self, raw: bytes, position: int, expected_prev: str, verified_below: int, next_raw: bytes | None
    ) -> _Finding:
        """Name the first bad index when the entry at ``position`` fails the chain checks.

        ``verified_below``: entries before it are authentic (record or checkpoint), so blame cannot go
        there. ``next_raw`` is the following entry, if any: whether it still links to this one tells an
        edit of this entry's ``prev`` apart from an edit of its predecessor.
        """
        value, problem = self._parse(raw)
        if value is None:
            return _Finding(position, f"entry {position} {problem}")
        index, prev = value.get("index"), value.get("prev")
        prev_ok = prev == expected_prev
        if isinstance(index, bool) or not isinstance(index, int):
            return _Finding(position, f"entry {position} has no integer index ({index!r})")
        if index != position:
            if prev_ok:
                # It still links to its predecessor, so this entry itself was edited.
                return _Finding(
                    position, f"entry {position} claims index {index} but links to entry {position - 1}"
                )
            if index > position:
                missing = (
                    f"entry {position} is"
                    if index == position + 1
                    else f"entries {position}..{index - 1} are"
                )
                return _Finding(
                    position,
                    f"{missing} missing (deleted or moved): position {position} holds entry {index}",
                )
            blame = min(max(index, verified_below), position)
            return _Finding(
                blame,
                f"entry at position {position} repeats index {index}: entries were inserted at index {blame}",
            )
        if position == 0:
            return _Finding(0, "entry 0 does not start the chain (its prev is not 64 zeros)")
        if position - 1 < verified_below:
            return _Finding(
                position, f"entry {position}'s prev does not match the authenticated entry {position - 1}"
            )
        if next_raw is not None:
            following, _ = self._parse(next_raw)
            if following is not None and following.get("prev") != hashlib.sha256(raw).hexdigest():
                # Neither neighbour links to these bytes: this entry is the one that changed.
                return _Finding(
                    position,
                    f"entry {position} was changed: it matches neither entry {position - 1}'s hash "
                    f"nor the prev of entry {position + 1}",
                )
        return _Finding(
            position - 1,
            f"entry {position - 1} was changed: its SHA-256 does not match the prev of entry {position}",
        )

    def _first_record_mismatch(self, leaves: Sequence[bytes], start: int) -> int | None:
        end = min(start + len(leaves), self.record_size)
        if end <= start:
            return None
        record = self.record
        if b"".join(leaves[: end - start]) == record[start * HASH_SIZE : end * HASH_SIZE]:
            return None
        for index in range(start, end):
            if leaves[index - start] != record[index * HASH_SIZE : (index + 1) * HASH_SIZE]:
                return index
        return None

    def _record_finding(self, index: int) -> _Finding:
        note = self._record_note(index)
        return _Finding(index, f"entry {index} differs from the leaf-hash record ({note})")

    # --- d. a full log -----------------------------------------------------------------------------
    def run_complete(self, entries: Iterable[bytes]) -> _Finding | None:
        stops = sorted({*self.sizes, self.record_size} - {0})
        stop_iter = iter(stops)
        next_stop = next(stop_iter, None)
        source = iter(entries)
        position = 0
        prev_hex = GENESIS_PREV
        tree: CompactRange | None = None  # entries' tree once it may differ from the record's
        pending: _Finding | None = None
        pending_end = -1
        sha256 = hashlib.sha256
        leaf_prefix = b"\x00"
        scan = _scan
        required = REQUIRED_FIELDS

        while True:
            limit = _CHUNK if next_stop is None else min(_CHUNK, next_stop - position)
            if pending is not None:
                limit = 1  # just the entry after the mismatched checkpoint, which may pin the change
            chunk = list(islice(source, limit))
            if not chunk:
                break
            start = position
            leaves: list[bytes] = []
            add_leaf = leaves.append
            failed_at: int | None = None
            for raw in chunk:
                add_leaf(sha256(leaf_prefix + raw).digest())
                try:
                    text = raw.decode("utf-8")
                    value, end = scan(text, 0)
                except (UnicodeDecodeError, StopIteration, ValueError, AttributeError):
                    failed_at = position
                    break
                if (
                    end != len(text)
                    or type(value) is not dict
                    or value.get("index") != position
                    or value.get("prev") != prev_hex
                    or type(value["index"]) is not int
                    or value.get("v") != ENTRY_VERSION
                    or not value.keys() >= required
                ):
                    failed_at = position
                    break
                prev_hex = sha256(raw).hexdigest()
                position += 1
            self.count = start + len(leaves)

            mismatch = self._first_record_mismatch(leaves, start)
            if mismatch is not None:
                return self._record_finding(mismatch)
            if failed_at is not None:
                verified_below = max(self.verified_size, min(failed_at + 1, self.record_size))
                offset = failed_at - start
                next_raw = chunk[offset + 1] if offset + 1 < len(chunk) else next(source, None)
                finding = self._diagnose(chunk[offset], failed_at, prev_hex, verified_below, next_raw)
                if pending is not None and finding.index >= pending_end:
                    return pending
                return finding
            if pending is not None:
                return pending
            if self.inclusion:
                for index in range(start, position):
                    if index in self.inclusion:
                        self._check_inclusion(index, leaves[index - start])

            # Track the entries' own tree once past the record (up to there it is the record's tree).
            if position > self.record_size:
                if tree is None:
                    tree = self.record_ranges[self.record_size].copy()
                    tree.extend(leaves[self.record_size - start :] if start < self.record_size else leaves)
                else:
                    tree.extend(leaves)
            if position == next_stop:
                next_stop = next(stop_iter, None)
                checkpoint = self.trusted.get(position)
                if checkpoint is not None:
                    root = tree.root() if tree is not None else self.record_ranges[position].root()
                    if root == checkpoint.root:
                        self._mark_verified(position)
                    else:
                        low = max(self.verified_size, min(position, self.record_size))
                        pending = _Finding(
                            low,
                            f"entries [{low}, {position}) do not hash to the root of the trusted checkpoint "
                            f"of tree size {position} (rewritten with a consistent chain; "
                            "a leaf-hash record would pin the exact entry)",
                        )
                        pending_end = position

        if pending is not None:
            return pending
        claimed = [size for size in self.sizes if size > position]
        if claimed:
            return _Finding(
                position,
                f"the log ends at {position} entries but a trusted checkpoint covers {claimed[-1]}: "
                f"entries from index {position} were removed",
            )
        if self.record_claims > position:
            return _Finding(
                position,
                f"the log ends at {position} entries but the leaf-hash record holds {self.record_claims}: "
                f"entries from index {position} were removed",
            )
        missing = sorted(index for index in self.inclusion if index >= position)
        if missing:
            reason = f"an inclusion proof names entry {missing[0]}, which is not in the log"
            return _Finding(missing[0], reason)
        return None

    # --- e. a partial bundle -----------------------------------------------------------------------
    def run_partial(self, entries: Iterable[bytes]) -> _Finding | None:
        previous_index: int | None = None
        previous_hash = ""
        for raw in entries:
            self.count += 1
            after = 0 if previous_index is None else previous_index + 1
            value, problem = self._parse(raw)
            if value is None:
                return _Finding(after, f"entry #{self.count} of the bundle (index >= {after}) {problem}")
            index = value.get("index")
            if isinstance(index, bool) or not isinstance(index, int) or index < after:
                return _Finding(after, f"entry #{self.count} of the bundle has index {index!r}, out of order")
            leaf = leaf_hash(raw)
            if not self.inclusion.get(index):
                return _Finding(index, f"entry {index} has no inclusion proof")
            self._check_inclusion(index, leaf)
            for size, _ in self.inclusion[index]:
                if size >= self.verified_size:
                    self.verified_size = size
                    self.verified_root = self.trusted[size].root
            if index < self.record_size and self.record[index * HASH_SIZE : (index + 1) * HASH_SIZE] != leaf:
                return self._record_finding(index)
            prev = value.get("prev")
            if index == 0 and prev != GENESIS_PREV:
                return _Finding(0, "entry 0 does not start the chain (its prev is not 64 zeros)")
            if previous_index is not None and previous_index == index - 1 and prev != previous_hash:
                return _Finding(index, f"entry {index}'s prev does not match the proven entry {index - 1}")
            previous_index = index
            previous_hash = hashlib.sha256(raw).hexdigest()
        used = {size for proofs in self.inclusion.values() for size, _ in proofs}
        self.verified_count = len(used & set(self.trusted))
        return None


def verify_log(
    entries: Iterable[bytes],
    *,
    checkpoints: Sequence[str],
    verifiers: Sequence[Verifier],
    leaf_hashes: bytes | None = None,
    origin: str | None = None,
    inclusion_proofs: Sequence[Mapping[str, Any]] = (),
    consistency_proofs: Sequence[Mapping[str, Any]] = (),
    complete: bool = True,
) -> VerifyResult:
    """Verify entries (exact bytes, ascending index) against signed checkpoints and the leaf-hash record.

    ``complete=True``: ``entries`` is the whole log from index 0; the RFC 9162 root is recomputed and
    compared with every trusted checkpoint. ``complete=False``: ``entries`` are selected entries, each
    proven by an RFC 9162 §2.1.3 inclusion proof against a trusted checkpoint.

    Stops at the first bad entry, so ``entries`` in the result counts the entries examined.
    """
    state = _LogVerifier(
        checkpoints=checkpoints,
        verifiers=verifiers,
        leaf_hashes=leaf_hashes,
        origin=origin,
        inclusion_proofs=inclusion_proofs,
        consistency_proofs=consistency_proofs,
    )
    try:
        finding = state.run_complete(entries) if complete else state.run_partial(entries)
    except _Failure as failure:
        finding = failure.finding
    reasons = ([finding.reason] if finding else []) + state.problems
    ok = not reasons
    if ok:
        reason = (
            f"{state.count} entries verified; {state.verified_count} trusted checkpoint(s), "
            f"tree size {state.verified_size}"
        )
    else:
        reason = "; ".join(reasons)
    return VerifyResult(
        ok=ok,
        entries=state.count,
        verified_tree_size=state.verified_size,
        first_bad_index=finding.index if finding else None,
        reason=reason,
        checkpoints_verified=state.verified_count,
        verified_root=state.verified_root,
        complete=complete,
    )


# --- the bundle ------------------------------------------------------------------------------------
class BundleError(Exception):
    """The bundle cannot be read."""


_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_ZIP64_LIMIT = 0xFFFFFFFF


def _dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


def _zip64_sizes(extra: bytes, original: int, compressed: int) -> tuple[int, int] | None:
    """The sizes a local header means: zip64 values replace the 0xFFFFFFFF fields, in APPNOTE order."""
    position = 0
    while position + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, position)
        if kind == 0x0001:
            wanted = [original == _ZIP64_LIMIT, compressed == _ZIP64_LIMIT]
            if length != 8 * sum(wanted) or position + 4 + length > len(extra):
                return None
            values = list(struct.unpack_from(f"<{sum(wanted)}Q", extra, position + 4))
            if wanted[0]:
                original = values.pop(0)
            if wanted[1]:
                compressed = values.pop(0)
            return original, compressed
        position += 4 + length
    return (original, compressed) if _ZIP64_LIMIT not in (original, compressed) else None


def _check_local_headers(path: Path, members: Sequence[zipfile.ZipInfo]) -> None:
    """Every field a member's local header repeats must agree with the central directory.

    zipfile trusts the central directory and checks the CRC-32 of the data, so without this a flipped
    byte in a local header (its copy of the sizes, CRC, time or the zip64 sizes) would go unnoticed.
    """
    with path.open("rb") as handle:
        for info in members:
            handle.seek(info.header_offset)
            raw = handle.read(_LOCAL_HEADER.size)
            if len(raw) != _LOCAL_HEADER.size:
                raise BundleError(f"truncated local header for {info.filename}")
            (
                signature,
                version,
                flags,
                method,
                time,
                date,
                crc,
                compressed,
                original,
                name_length,
                extra_length,
            ) = _LOCAL_HEADER.unpack(raw)
            name = handle.read(name_length)
            extra = handle.read(extra_length)
            expected_name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
            fields_agree = (
                signature == b"PK\x03\x04"
                and name == expected_name
                and version == info.extract_version
                and flags == info.flag_bits
                and method == info.compress_type
                and (time, date) == _dos_time(info.date_time)
            )
            if flags & 0x08:
                # Sizes and CRC follow the data in a descriptor; the CRC-32 of the data is still checked.
                sizes_agree = crc in (0, info.CRC)
            else:
                sizes = _zip64_sizes(extra, original, compressed)
                sizes_agree = crc == info.CRC and sizes == (info.file_size, info.compress_size)
            if not (fields_agree and sizes_agree):
                raise BundleError(f"the local header of {info.filename} disagrees with the zip directory")


AUDIT_FILES = frozenset({MANIFEST, ENTRIES, CHECKPOINTS, KEYS, LEAF_HASHES, PROOFS})


@dataclass(frozen=True)
class Attachment:
    """A file of a bundle that is not one of its own ``audit/`` files (a report's renderings)."""

    shown: str  # its path inside the zip or below the folder given, as the auditor sees it
    name: str | None  # its path below the report root, the name an entry attests; None outside the root


class Bundle:
    """An opened audit bundle, a zip or the same tree unzipped into a folder; both read alike.

    The audit files sit in ``audit/`` at the report root: the top of the zip or folder, or one folder
    down (a report zipped or unzipped inside its own folder). A folder may also be the ``audit/``
    folder itself. Entries are streamed, the rest of the audit files is read eagerly; every other file
    becomes an :class:`Attachment` for :func:`check_attachments`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._audit_dir: Path | None = None
        self._audit_prefix = ""  # of the audit files' names inside the zip
        self.root = ""  # the report root, as a prefix of shown names ("" or "report/")
        self.unterminated = False
        self.layout_problems: list[str] = []
        try:
            audit_rel, names = self._open_folder() if self.path.is_dir() else self._open_zip()
            self.attachments = self._attachments(names, audit_rel)
            self.manifest = self._json(MANIFEST)
            if not isinstance(self.manifest, dict) or self.manifest.get("format") != BUNDLE_FORMAT:
                raise BundleError(f"{MANIFEST} is not an {BUNDLE_FORMAT} manifest")
            notes = self._json(CHECKPOINTS)
            if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
                raise BundleError(f"{CHECKPOINTS} must be a JSON list of signed notes")
            self.checkpoints: list[str] = notes
            keys = self._read(KEYS)
            self.keys = keys.decode("utf-8").splitlines() if keys is not None else []
            self.leaf_hashes = self._read(LEAF_HASHES, required=False)
            proofs = self._json(PROOFS, required=False) or {}
            if not isinstance(proofs, dict):
                raise BundleError(f"{PROOFS} must be a JSON object")
            self.inclusion_proofs: list[Mapping[str, Any]] = list(proofs.get("inclusion") or [])
            self.consistency_proofs: list[Mapping[str, Any]] = list(proofs.get("consistency") or [])
        except BundleError:
            self.close()
            raise
        except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, EOFError) as exc:
            self.close()
            raise BundleError(f"unreadable bundle {self.path}: {exc}") from exc

    def _open_zip(self) -> tuple[str, list[str]]:
        self._zip = zipfile.ZipFile(self.path)
        self._audit_prefix = self._find_prefix(self._zip)
        self.root = self._audit_prefix[: -len(BUNDLE_DIR)]
        members = self._zip.infolist()
        _check_local_headers(self.path, members)
        names = [info.filename for info in members if not info.is_dir()]
        # zipfile reads the last of two members of one name, another tool may show the first.
        for name, count in sorted(Counter(names).items()):
            if count > 1:
                self.layout_problems.append(f"{name} appears {count} times in the zip")
        return BUNDLE_DIR, names

    def _open_folder(self) -> tuple[str, list[str]]:
        audit_rel = BUNDLE_DIR
        if (self.path / BUNDLE_DIR / MANIFEST).is_file():
            self._audit_dir = self.path / BUNDLE_DIR
        elif (self.path / MANIFEST).is_file():
            self._audit_dir, audit_rel = self.path, ""  # the audit/ folder itself was given
        else:
            found = sorted(self.path.glob(f"*/{BUNDLE_DIR}{MANIFEST}"))
            if not found:
                raise BundleError(f"no {BUNDLE_DIR}{MANIFEST} in {self.path}")
            self._audit_dir = found[0].parent
            self.root = self._audit_dir.parent.name + "/"
        names: list[str] = []
        for folder, subfolders, files in os.walk(self.path):
            subfolders.sort()
            here = Path(folder)
            base = here.relative_to(self.path)
            # A link to a folder is not walked into; it is listed, so that it is reported.
            linked = [name for name in subfolders if (here / name).is_symlink()]
            names.extend((base / name).as_posix() for name in sorted([*files, *linked]))
        return audit_rel, names

    def _attachments(self, names: Iterable[str], audit_rel: str) -> list[Attachment]:
        attachments = []
        for shown in names:
            name = shown[len(self.root) :] if shown.startswith(self.root) else None
            if name is not None and name.startswith(audit_rel) and name[len(audit_rel) :] in AUDIT_FILES:
                continue
            attachments.append(Attachment(shown, name))
        return attachments

    @staticmethod
    def _find_prefix(archive: zipfile.ZipFile) -> str:
        # A lineage report carries the same audit/ folder among other files, possibly one level down.
        candidates = [
            name[: -len(MANIFEST)]
            for name in archive.namelist()
            if name == BUNDLE_DIR + MANIFEST or name.endswith("/" + BUNDLE_DIR + MANIFEST)
        ]
        if not candidates:
            raise BundleError(f"no {BUNDLE_DIR}{MANIFEST} in {archive.filename}")
        return min(candidates, key=len)

    def _open(self, name: str) -> IO[bytes] | None:
        if self._zip is not None:
            try:
                return self._zip.open(self._audit_prefix + name)
            except KeyError:
                return None
        if self._audit_dir is None:
            return None
        path = self._audit_dir / name
        return path.open("rb") if path.is_file() else None

    def _read(self, name: str, *, required: bool = True) -> bytes | None:
        handle = self._open(name)
        if handle is None:
            if required:
                raise BundleError(f"bundle has no {BUNDLE_DIR}{name}")
            return None
        with handle:
            return handle.read()

    def _json(self, name: str, *, required: bool = True) -> Any:
        data = self._read(name, required=required)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError as exc:
            raise BundleError(f"{name} is not valid JSON: {exc}") from None

    def sha256(self, attachment: Attachment) -> str:
        """The SHA-256 of an attachment's content, streamed; raises OSError or a zip error."""
        digest = hashlib.sha256()
        if self._zip is not None:
            handle: IO[bytes] = self._zip.open(attachment.shown)
        else:
            handle = (self.path / attachment.shown).open("rb")
        with handle:
            while block := handle.read(_READ_SIZE):
                digest.update(block)
        return digest.hexdigest()

    @property
    def origin(self) -> str | None:
        origin = self.manifest.get("origin")
        return origin if isinstance(origin, str) else None

    @property
    def complete(self) -> bool:
        kind = self.manifest.get("kind")
        if kind not in ("full", "partial"):
            raise BundleError(f"manifest kind {kind!r} is neither 'full' nor 'partial'")
        return bool(kind == "full")

    def entries(self) -> Iterator[bytes]:
        """Each entry's exact bytes; a read error (bad CRC, corrupt deflate stream) raises BundleError."""
        handle = self._open(ENTRIES)
        if handle is None:
            raise BundleError(f"bundle has no {BUNDLE_DIR}{ENTRIES}")
        try:
            with handle:
                pending = b""
                while True:
                    block = handle.read(_READ_SIZE)
                    if not block:
                        break
                    lines = (pending + block).split(b"\n")
                    pending = lines.pop()
                    yield from lines
                if pending:
                    self.unterminated = True
                    yield pending
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            raise BundleError(f"cannot read {ENTRIES}: {exc}") from exc

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_bundle(
    path: str | os.PathLike[str],
    *,
    origin: str,
    kind: str,
    entries: Iterable[bytes],
    checkpoints: Sequence[str],
    keys: Sequence[str],
    leaf_hashes: bytes | None = None,
    proofs: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> None:
    """Write an audit bundle zip (deflate) atomically: the one writer the exporter and tests share.

    ``extra_files`` (name → bytes, outside ``audit/``) lets a lineage report carry its bundle.
    """
    if kind not in ("full", "partial"):
        raise ValueError(f"bundle kind must be 'full' or 'partial', not {kind!r}")
    if leaf_hashes is not None and len(leaf_hashes) % HASH_SIZE:
        raise ValueError("leaf hashes must be a whole number of 32-byte hashes")
    target = Path(path)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temp_name, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            count = 0
            with archive.open(BUNDLE_DIR + ENTRIES, "w", force_zip64=True) as stream:
                batch: list[bytes] = []
                for entry in entries:
                    raw = bytes(entry)
                    if b"\n" in raw:
                        raise ValueError(f"entry {count} contains a newline byte")
                    batch.append(raw)
                    batch.append(b"\n")
                    count += 1
                    if len(batch) >= 2 * _CHUNK:
                        stream.write(b"".join(batch))
                        batch.clear()
                stream.write(b"".join(batch))
            archive.writestr(BUNDLE_DIR + CHECKPOINTS, json.dumps(list(checkpoints), indent=2) + "\n")
            archive.writestr(BUNDLE_DIR + KEYS, "".join(f"{line}\n" for line in keys))
            if leaf_hashes is not None:
                # Hashes do not compress; storing them keeps the record byte-for-byte inspectable.
                archive.writestr(
                    BUNDLE_DIR + LEAF_HASHES, bytes(leaf_hashes), compress_type=zipfile.ZIP_STORED
                )
            if proofs is not None:
                archive.writestr(BUNDLE_DIR + PROOFS, json.dumps(dict(proofs), indent=1) + "\n")
            manifest = {
                "format": BUNDLE_FORMAT,
                "origin": origin,
                "kind": kind,
                "entries": count,
                "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            archive.writestr(BUNDLE_DIR + MANIFEST, json.dumps(manifest, indent=2) + "\n")
            for name, content in (extra_files or {}).items():
                if name.startswith(BUNDLE_DIR):
                    raise ValueError(f"extra file {name!r} may not live inside {BUNDLE_DIR}")
                archive.writestr(name, content)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def load_verifiers(specs: Sequence[str]) -> list[Verifier]:
    """Verifier keys from ``--key`` values: a key string, or a file whose lines each start with one.

    In a file, text after the key (separated by whitespace) is a comment such as validity dates, and
    blank lines and lines starting with '#' are skipped.
    """
    verifiers: list[Verifier] = []
    for spec in specs:
        if os.path.exists(spec):
            with open(spec, encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    words = line.split()
                    if not words or words[0].startswith("#"):
                        continue
                    try:
                        verifiers.append(Verifier.parse(words[0]))
                    except ValueError as exc:
                        raise ValueError(f"{spec}:{number}: {exc}") from None
        else:
            try:
                verifiers.append(Verifier.parse(spec))
            except ValueError as exc:
                raise ValueError(f"--key {spec[:60]!r} is neither a file nor a verifier key: {exc}") from None
    return verifiers


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


# Exit statuses of both verifiers, ``python -m audit.verify`` and ``manage.py audit verify``.
EXIT_OK = 0  # every entry verified, and each is covered by a trusted checkpoint
EXIT_FAILED = 1  # something is wrong (named), or the bundle cannot be read
EXIT_USAGE = 2  # bad command line
EXIT_NOTHING_COVERED = 3  # nothing covered yet: no trusted checkpoint covers any entry
EXIT_UNCOVERED = 4  # verified up to N, but later entries rest on the hash chain alone (live: too long)

EXIT_STATUSES = """exit status:
  0  OK: verified; every entry is covered by a trusted checkpoint
  1  FAIL: an entry, checkpoint or file is wrong (named), or the bundle cannot be read
  2  usage error
  3  UNCOVERED: nothing covered yet (no trusted checkpoint covers any entry)
  4  UNCOVERED: verified up to N; entries from N are in no trusted checkpoint (hash chain only)"""


def summary(result: VerifyResult) -> str:
    """What a verified result covers: "verified up to N: M entries, ..." (after 'OK:' or 'UNCOVERED:')."""
    size = result.verified_tree_size
    root = base64.b64encode(result.verified_root).decode("ascii") if result.verified_root else "-"
    head = (
        f"verified up to {size}: {result.entries} entries"
        if result.complete
        else f"{result.entries} entries proven in the trusted tree of size {size}"
    )
    text = (
        f"{head}, {result.checkpoints_verified} trusted checkpoint(s) verified, "
        f"verified tree size {size}, root {root}"
    )
    return f"{text}; {result.attested}" if result.attested else text


def verdict(result: VerifyResult) -> tuple[int, str]:
    """The exit status and the one line ``python -m audit.verify`` prints for a result."""
    if not result.ok:
        if result.first_bad_index is not None:
            return EXIT_FAILED, f"FAIL: first bad index {result.first_bad_index}: {result.reason}"
        return EXIT_FAILED, f"FAIL: {result.reason}"
    if result.verified_tree_size == 0:
        return EXIT_NOTHING_COVERED, (
            f"UNCOVERED: nothing covered yet: {result.entries} entries, "
            "no trusted checkpoint covers any of them (hash chain only)"
        )
    if result.uncovered:
        return EXIT_UNCOVERED, (
            f"UNCOVERED: {summary(result)}; entries {result.verified_tree_size}..{result.entries - 1} "
            "are in no trusted checkpoint (hash chain only)"
        )
    return EXIT_OK, f"OK: {summary(result)}"


def main(argv: Sequence[str] | None = None) -> int:
    """The ``python -m audit.verify`` command line; exit statuses in :data:`EXIT_STATUSES`."""
    parser = argparse.ArgumentParser(
        prog="python -m audit.verify",
        description=(
            "Verify an audit bundle (zip, or the same unzipped into a folder) offline: checkpoint "
            "signatures, the RFC 9162 Merkle tree, the leaf-hash record, the entries' hash chain, and "
            "every other file against the SHA-256 its export entry attests (a file missing, changed "
            "or not attested fails). Prints one line starting 'OK:', 'UNCOVERED:' or 'FAIL:'. Only "
            "the keys given with --key are trusted; the bundle's own keys.txt is informational and "
            "never used."
        ),
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("bundle", metavar="BUNDLE", help="bundle zip, lineage-report zip or folder")
    parser.add_argument(
        "--key",
        dest="keys",
        metavar="VKEY",
        action="append",
        required=True,
        help="trusted verifier key <name>+<id>+<base64>, or a file of them (one per line, "
        "text after the key is a comment, '#' lines ignored); repeatable",
    )
    parser.add_argument("--origin", help="expected log origin (default: the bundle manifest's)")
    args = parser.parse_args(argv)
    try:
        verifiers = load_verifiers(args.keys)
    except (OSError, ValueError) as exc:
        print(f"FAIL: {exc}")
        return EXIT_FAILED
    if not verifiers:
        print("FAIL: no trusted verifier key in --key")
        return EXIT_FAILED
    try:
        result = verify_bundle(args.bundle, verifiers, origin=args.origin)
    except BundleError as exc:
        print(f"FAIL: {exc}")
        return EXIT_FAILED
    status, line = verdict(result)
    print(line)
    return status


if __name__ == "__main__":
    sys.exit(main())
