"""The log verifier's walk over the entries (steps c to e of :mod:`audit.verify`). Django-free."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from json import scanner as _json_scanner
from typing import Any

from audit.checkpoint import Verifier
from audit.merkle import HASH_SIZE, CompactRange, leaf_hash
from audit.verify.evidence import Evidence, Failure, Finding

GENESIS_PREV = "0" * 64
ENTRY_VERSION = 1
REQUIRED_FIELDS = frozenset(
    {"v", "index", "timestamp", "actor", "action", "target", "data", "request_id", "prev"}
)

_CHUNK = 4096


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


class _LogVerifier(Evidence):
    """The entries, walked once against the evidence loaded by :class:`Evidence`."""

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
    ) -> Finding:
        """Name the first bad index when the entry at ``position`` fails the chain checks.

        ``verified_below``: entries before it are authentic (record or checkpoint), so blame cannot go
        there. ``next_raw`` is the following entry, if any: whether it still links to this one tells an
        edit of this entry's ``prev`` apart from an edit of its predecessor.
        """
        value, problem = self._parse(raw)
        if value is None:
            return Finding(position, f"entry {position} {problem}")
        index, prev = value.get("index"), value.get("prev")
        prev_ok = prev == expected_prev
        if isinstance(index, bool) or not isinstance(index, int):
            return Finding(position, f"entry {position} has no integer index ({index!r})")
        if index != position:
            if prev_ok:
                # It still links to its predecessor, so this entry itself was edited.
                return Finding(
                    position, f"entry {position} claims index {index} but links to entry {position - 1}"
                )
            if index > position:
                missing = (
                    f"entry {position} is"
                    if index == position + 1
                    else f"entries {position}..{index - 1} are"
                )
                return Finding(
                    position,
                    f"{missing} missing (deleted or moved): position {position} holds entry {index}",
                )
            blame = min(max(index, verified_below), position)
            return Finding(
                blame,
                f"entry at position {position} repeats index {index}: entries were inserted at index {blame}",
            )
        if position == 0:
            return Finding(0, "entry 0 does not start the chain (its prev is not 64 zeros)")
        if position - 1 < verified_below:
            return Finding(
                position, f"entry {position}'s prev does not match the authenticated entry {position - 1}"
            )
        if next_raw is not None:
            following, _ = self._parse(next_raw)
            if following is not None and following.get("prev") != hashlib.sha256(raw).hexdigest():
                # Neither neighbour links to these bytes: this entry is the one that changed.
                return Finding(
                    position,
                    f"entry {position} was changed: it matches neither entry {position - 1}'s hash "
                    f"nor the prev of entry {position + 1}",
                )
        return Finding(
            position - 1,
            f"entry {position - 1} was changed: its SHA-256 does not match the prev of entry {position}",
        )

    # --- d. a full log -----------------------------------------------------------------------------
    # long: one pass over the entries checks chain, tree and every checkpoint at once (the verifier reads
    # a log of millions of entries once, streaming); its steps share the running hashes.
    def run_complete(self, entries: Iterable[bytes]) -> Finding | None:  # noqa: C901
        stops = sorted({*self.sizes, self.record_size} - {0})
        stop_iter = iter(stops)
        next_stop = next(stop_iter, None)
        source = iter(entries)
        position = 0
        prev_hex = GENESIS_PREV
        tree: CompactRange | None = None  # entries' tree once it may differ from the record's
        pending: Finding | None = None
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
                        pending = Finding(
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
            return Finding(
                position,
                f"the log ends at {position} entries but a trusted checkpoint covers {claimed[-1]}: "
                f"entries from index {position} were removed",
            )
        if self.record_claims > position:
            return Finding(
                position,
                f"the log ends at {position} entries but the leaf-hash record holds {self.record_claims}: "
                f"entries from index {position} were removed",
            )
        missing = sorted(index for index in self.inclusion if index >= position)
        if missing:
            reason = f"an inclusion proof names entry {missing[0]}, which is not in the log"
            return Finding(missing[0], reason)
        return None

    # --- e. a partial bundle -----------------------------------------------------------------------
    def run_partial(self, entries: Iterable[bytes]) -> Finding | None:
        previous_index: int | None = None
        previous_hash = ""
        for raw in entries:
            self.count += 1
            after = 0 if previous_index is None else previous_index + 1
            value, problem = self._parse(raw)
            if value is None:
                return Finding(after, f"entry #{self.count} of the bundle (index >= {after}) {problem}")
            index = value.get("index")
            if isinstance(index, bool) or not isinstance(index, int) or index < after:
                return Finding(after, f"entry #{self.count} of the bundle has index {index!r}, out of order")
            leaf = leaf_hash(raw)
            if not self.inclusion.get(index):
                return Finding(index, f"entry {index} has no inclusion proof")
            self._check_inclusion(index, leaf)
            for size, _ in self.inclusion[index]:
                if size >= self.verified_size:
                    self.verified_size = size
                    self.verified_root = self.trusted[size].root
            if index < self.record_size and self.record[index * HASH_SIZE : (index + 1) * HASH_SIZE] != leaf:
                return self._record_finding(index)
            prev = value.get("prev")
            if index == 0 and prev != GENESIS_PREV:
                return Finding(0, "entry 0 does not start the chain (its prev is not 64 zeros)")
            if previous_index is not None and previous_index == index - 1 and prev != previous_hash:
                return Finding(index, f"entry {index}'s prev does not match the proven entry {index - 1}")
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
    except Failure as failure:
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
