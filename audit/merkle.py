"""RFC 9162 §2.1 Merkle tree hashing, proofs and verification over SHA-256.

Nodes are named ``(level, index)``: the perfect subtree covering leaves
``[index << level, (index + 1) << level)``. A log that stores every perfect node it completes
(:meth:`CompactRange.append` hands them out) can serve any inclusion or consistency proof by looking
up O(log n) stored hashes: only the incomplete subtrees on the right edge of a tree are hashed on the
fly, from their :func:`range_nodes` decomposition.

Everything here is iterative, so trees of any size never hit the recursion limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from hashlib import sha256

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = HASH()

NodeId = tuple[int, int]

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof, or the sizes and hashes it is checked against, does not verify."""


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d(0)}) = HASH(0x00 || d(0))."""
    return sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: the interior node HASH(0x01 || left || right)."""
    return sha256(_NODE_PREFIX + left + right).digest()


def _perfect_root(hashes: Sequence[bytes]) -> bytes:
    # Pairwise reduction of a power-of-two run; the comprehension keeps the per-node cost in C as far
    # as Python allows (no function call per node).
    level = list(hashes)
    while len(level) > 1:
        pairs = iter(level)
        level = [sha256(_NODE_PREFIX + a + b).digest() for a, b in zip(pairs, pairs, strict=True)]
    return level[0]


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH (RFC 9162 §2.1.1) of a tree whose leaf hashes are given, without recursion.

    Pairing neighbours level by level and carrying an odd last node up unchanged builds the same tree
    as the RFC's split at the largest power of two smaller than n.
    """
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        carry = [level[-1]] if len(level) % 2 else []
        pairs = iter(level[: len(level) - len(carry)])
        level = [sha256(_NODE_PREFIX + a + b).digest() for a, b in zip(pairs, pairs, strict=True)]
        level += carry
    return level[0]


def _check_range(begin: int, end: int) -> None:
    if begin < 0 or end < begin:
        raise ValueError(f"invalid leaf range [{begin}, {end})")


def range_nodes(begin: int, end: int) -> list[NodeId]:
    """The maximal perfect subtrees that tile leaves ``[begin, end)``, left to right.

    For ``begin == 0`` this is the compact range of a tree of size ``end`` (one node per set bit of
    ``end``, largest first), whose right-to-left fold is the RFC 9162 §2.1.1 MTH.
    """
    _check_range(begin, end)
    nodes: list[NodeId] = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        if begin:
            # A node at this level must also start on a multiple of its width.
            level = min(level, (begin & -begin).bit_length() - 1)
        nodes.append((level, begin >> level))
        begin += 1 << level
    return nodes


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, bytes | bytearray | memoryview) else type(value).__name__
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {size}")


class CompactRange:
    """The hashes of :func:`range_nodes` ``(0, size)``: enough state to append and to compute the root.

    Appending costs O(log n) hashes and reports every perfect node it completes, so a database can
    store each node exactly once and never rehash the log.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0:
            raise ValueError(f"tree size must be >= 0, got {size}")
        if len(hashes) != size.bit_count():
            raise ValueError(
                f"a tree of size {size} has {size.bit_count()} compact-range hashes, got {len(hashes)}"
            )
        for value in hashes:
            if len(value) != HASH_SIZE:
                raise ValueError(f"compact-range hashes must be {HASH_SIZE} bytes, got {len(value)}")
        self.size = size
        self.hashes = [bytes(value) for value in hashes]

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        """Add one leaf hash; return ``((0, old size), leaf)`` then each parent it completes, bottom-up."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf)}")
        index = self.size
        value = bytes(leaf)
        completed: list[tuple[NodeId, bytes]] = [((0, index), value)]
        level = 0
        # Binary addition: each trailing one bit of the old size is a left sibling to merge with.
        while index & 1:
            value = node_hash(self.hashes.pop(), value)
            index >>= 1
            level += 1
            completed.append(((level, index), value))
        self.hashes.append(value)
        self.size += 1
        return completed

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append many leaf hashes at once (same result as :meth:`append` each, without the node list).

        Whole aligned power-of-two blocks are reduced pairwise, which is several times faster in CPython.
        """
        start = 0
        total = len(leaves)
        while start < total:
            level = (total - start).bit_length() - 1
            if self.size:
                level = min(level, (self.size & -self.size).bit_length() - 1)
            width = 1 << level
            block = leaves[start : start + width]
            if any(len(value) != HASH_SIZE for value in block):
                raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes")
            self._push(level, _perfect_root(block))
            start += width

    def _push(self, level: int, value: bytes) -> None:
        # Adding 2**level leaves at an aligned position is binary addition with carries.
        size = self.size
        merge_level = level
        while (size >> merge_level) & 1:
            value = node_hash(self.hashes.pop(), value)
            merge_level += 1
        self.hashes.append(value)
        self.size = size + (1 << level)

    def root(self) -> bytes:
        """RFC 9162 §2.1.1 MTH of the current tree: fold the compact range right to left."""
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            value = node_hash(left, value)
        return value

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self.hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self.size})"


def _largest_power_of_two_below(n: int) -> int:
    # RFC 9162 §2.1.1: k is the largest power of two smaller than n (n > 1).
    return 1 << ((n - 1).bit_length() - 1)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs make up PATH(index, D[0:size]), RFC 9162 §2.1.3.1, leaf first."""
    if size < 1 or not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    low, high = 0, size
    while high - low > 1:
        split = low + _largest_power_of_two_below(high - low)
        if index < split:
            ranges.append((split, high))
            high = split
        else:
            ranges.append((low, split))
            low = split
    ranges.reverse()
    return ranges


def _consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs make up PROOF(first, D[0:second]), RFC 9162 §2.1.4.1, in proof order."""
    if not 0 < first <= second:
        raise ValueError(f"consistency proof needs 0 < first <= second, got {first} and {second}")
    ranges: list[tuple[int, int]] = []
    low, high = 0, second
    remaining = first  # m, relative to the subtree [low, high)
    starts_at_root = True  # the SUBPROOF flag b
    while remaining != high - low:
        split = _largest_power_of_two_below(high - low)
        if remaining <= split:
            ranges.append((low + split, high))
            high = low + split
        else:
            ranges.append((low, low + split))
            low += split
            remaining -= split
            starts_at_root = False
    if not starts_at_root:
        # SUBPROOF(m, D[m], false) = {MTH(D[m])}: the old tree's last subtree, unless it is the old root.
        ranges.append((low, high))
    ranges.reverse()
    return ranges


def _nodes_for(ranges: Sequence[tuple[int, int]]) -> list[NodeId]:
    return [node for begin, end in ranges for node in range_nodes(begin, end)]


def _hashes_for(ranges: Sequence[tuple[int, int]], nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    proof: list[bytes] = []
    for begin, end in ranges:
        ids = range_nodes(begin, end)
        try:
            hashes = [nodes[node] for node in ids]
        except KeyError as exc:
            raise KeyError(f"tree node {exc.args[0]} is not stored") from None
        value = hashes[-1]
        for left in reversed(hashes[:-1]):
            value = node_hash(left, value)
        proof.append(value)
    return proof


def inclusion_proof_nodes(index: int, size: int) -> list[NodeId]:
    """The perfect nodes :func:`inclusion_proof` reads, so a caller can fetch them in one query."""
    return _nodes_for(_inclusion_ranges(index, size))


def inclusion_proof(index: int, size: int, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """The audit path PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, from stored perfect-node hashes.

    Raises ValueError for an index outside the tree and KeyError when ``nodes`` lacks a needed node.
    """
    return _hashes_for(_inclusion_ranges(index, size), nodes)


def consistency_proof_nodes(first: int, second: int) -> list[NodeId]:
    """The perfect nodes :func:`consistency_proof` reads."""
    return _nodes_for(_consistency_ranges(first, second))


def consistency_proof(first: int, second: int, nodes: Mapping[NodeId, bytes]) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1 (empty when ``first == second``)."""
    return _hashes_for(_consistency_ranges(first, second), nodes)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check an inclusion proof as RFC 9162 §2.1.3.2 prescribes; raise ProofError if it fails."""
    _check_hash(leaf, "leaf hash")
    _check_hash(root, "root hash")
    if size < 1 or not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    for position, value in enumerate(proof):
        _check_hash(value, f"proof node {position}")
    fn, sn = index, size - 1
    result = bytes(leaf)
    for value in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof is too long ({len(proof)} nodes) for index {index} of {size}")
        if fn & 1 or fn == sn:
            result = node_hash(value, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, value)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof is too short ({len(proof)} nodes) for index {index} of {size}")
    if result != root:
        raise ProofError(f"inclusion proof for index {index} does not lead to the root of tree size {size}")


# RFC 9162 §2.1.4.2 transcribed step by step, so that a reader can check it against the RFC line by line.
def verify_consistency(  # noqa: C901
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof as RFC 9162 §2.1.4.2 prescribes; raise ProofError if it fails."""
    _check_hash(first_root, "first root")
    _check_hash(second_root, "second root")
    for position, value in enumerate(proof):
        _check_hash(value, f"proof node {position}")
    if first < 1 or second < first:
        raise ProofError(f"consistency proof needs 0 < first <= second, got {first} and {second}")
    if first == second:
        if proof:
            raise ProofError("consistency proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError(f"two different roots for the same tree size {first}")
        return
    if not proof:
        raise ProofError(f"empty consistency proof from {first} to {second}")
    path = list(proof)
    if first & (first - 1) == 0:
        # The old tree is a perfect subtree of the new one: its root is the proof's implicit first node.
        path.insert(0, bytes(first_root))
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_result = second_result = path[0]
    for value in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof from {first} to {second} is too long")
        if fn & 1 or fn == sn:
            first_result = node_hash(value, first_result)
            second_result = node_hash(value, second_result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            second_result = node_hash(second_result, value)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof from {first} to {second} is too short")
    if first_result != first_root:
        raise ProofError(f"consistency proof does not lead to the root of tree size {first}")
    if second_result != second_root:
        raise ProofError(f"consistency proof does not lead to the root of tree size {second}")


__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "NodeId",
    "ProofError",
    "consistency_proof",
    "consistency_proof_nodes",
    "inclusion_proof",
    "inclusion_proof_nodes",
    "leaf_hash",
    "node_hash",
    "range_nodes",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]
