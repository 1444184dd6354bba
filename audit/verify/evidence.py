"""The evidence a log is weighed against: trusted checkpoints, the leaf-hash record kept outside the
database, and consistency and inclusion proofs (RFC 9162 §2.1.3-2.1.4). Django-free."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audit.checkpoint import Checkpoint, NoteError, Verifier, verify_checkpoint
from audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    ProofError,
    verify_consistency,
    verify_inclusion,
)


@dataclass
class Finding:
    index: int
    reason: str


Proof = tuple[int, list[bytes]]  # (tree size, audit path)


class Failure(Exception):
    def __init__(self, finding: Finding) -> None:
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


class Evidence:
    """Checkpoints, record and proofs, loaded and checked before any entry is read (steps a and b of
    :mod:`audit.verify`); ``problems`` holds failures no entry index can be blamed for."""

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

    def _parse_inclusion_proofs(self, proofs: Sequence[Mapping[str, Any]]) -> dict[int, list[Proof]]:
        by_index: dict[int, list[Proof]] = {}
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
                raise Failure(
                    Finding(
                        index,
                        f"inclusion proof for entry {index} is against tree size {size}, "
                        "which has no trusted checkpoint",
                    )
                )
            try:
                verify_inclusion(leaf, index, size, nodes, checkpoint.root)
            except ProofError as exc:
                reason = f"entry {index} is not in the trusted tree of size {size}: {exc}"
                raise Failure(Finding(index, reason)) from None

    def _mark_verified(self, size: int) -> None:
        if size >= self.verified_size:
            self.verified_size = size
            self.verified_root = self.trusted[size].root
        self.verified_count += 1

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

    def _record_finding(self, index: int) -> Finding:
        note = self._record_note(index)
        return Finding(index, f"entry {index} differs from the leaf-hash record ({note})")
