"""The command line ``python -m audit.verify`` and the verdict both verifiers print. Django-free."""

from __future__ import annotations

import argparse
import base64
import os
from collections.abc import Sequence

from audit.checkpoint import Verifier
from audit.verify.bundle import BundleError
from audit.verify.files import verify_bundle
from audit.verify.log import VerifyResult


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
    parser.add_argument(
        "bundle",
        metavar="BUNDLE",
        help="bundle zip, report zip (lineage or technical documentation) or folder",
    )
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
