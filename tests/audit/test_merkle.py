"""RFC 9162 §2.1 Merkle tree: published test vectors, a recursive reference, and proof tampering."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from hashlib import sha256

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    NodeId,
    ProofError,
    consistency_proof,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    node_hash,
    range_nodes,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# The Certificate Transparency reference tree, as used by github.com/transparency-dev/merkle
# (proof/verify_test.go) and Trillian: leaf inputs, the roots of sizes 1..8, and known proofs.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path); the Go vectors number leaves from 1, these from 0.
INCLUSION_VECTORS = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (0, 1, []),
]
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


# --- a reference written straight from RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 (recursive) ----------
def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return sha256(b"").digest()
    if n == 1:
        return sha256(b"\x00" + leaves[0]).digest()
    k = _k(n)
    return sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, leaves[:k], b), ref_mth(leaves[k:])]
    return [*ref_subproof(m - k, leaves[k:], False), ref_mth(leaves[:k])]


def ref_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    return ref_subproof(m, leaves, True)


# --- helpers ---------------------------------------------------------------------------------------
def build(leaves: Sequence[bytes]) -> tuple[CompactRange, dict[NodeId, bytes]]:
    tree = CompactRange()
    nodes: dict[NodeId, bytes] = {}
    for entry in leaves:
        for node, digest in tree.append(leaf_hash(entry)):
            assert node not in nodes
            nodes[node] = digest
    return tree, nodes


def make_leaves(n: int) -> list[bytes]:
    return [f"entry-{i}".encode() for i in range(n)]


def flip(value: bytes, bit: int) -> bytes:
    raw = bytearray(value)
    raw[bit // 8] ^= 1 << (bit % 8)
    return bytes(raw)


REF_LEAF_HASHES = [leaf_hash(leaf) for leaf in LEAVES]
REF_TREE, REF_NODES = build(LEAVES)


# --- published vectors -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_published_ct_reference_tree(size: int) -> None:
    assert root_from_leaf_hashes(REF_LEAF_HASHES[:size]).hex() == ROOTS[size - 1]
    assert ref_mth(LEAVES[:size]).hex() == ROOTS[size - 1]
    tree, _ = build(LEAVES[:size])
    assert tree.root().hex() == ROOTS[size - 1]


def test_the_eight_leaf_root_is_the_published_one() -> None:
    assert REF_TREE.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def test_the_empty_tree_hashes_to_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION_VECTORS)
def test_inclusion_proofs_equal_the_published_vectors(index: int, size: int, expected: list[str]) -> None:
    proof = inclusion_proof(index, size, REF_NODES)
    assert [node.hex() for node in proof] == expected
    verify_inclusion(REF_LEAF_HASHES[index], index, size, proof, bytes.fromhex(ROOTS[size - 1]))


@pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY_VECTORS)
def test_consistency_proofs_equal_the_published_vectors(first: int, second: int, expected: list[str]) -> None:
    proof = consistency_proof(first, second, REF_NODES)
    assert [node.hex() for node in proof] == expected
    verify_consistency(
        first, second, bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1]), proof
    )


# --- against the recursive reference ---------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_roots_and_proofs_agree_with_the_rfc_definitions(size: int, data: st.DataObject) -> None:
    leaves = make_leaves(size)
    tree, nodes = build(leaves)
    root = ref_mth(leaves)
    assert tree.root() == root
    assert root_from_leaf_hashes([leaf_hash(leaf) for leaf in leaves]) == root

    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    path = inclusion_proof(index, size, nodes)
    assert path == ref_path(index, leaves)
    verify_inclusion(leaf_hash(leaves[index]), index, size, path, root)

    first = data.draw(st.integers(min_value=1, max_value=size), label="first")
    proof = consistency_proof(first, size, nodes)
    assert proof == (ref_proof(first, leaves) if first < size else [])
    verify_consistency(first, size, ref_mth(leaves[:first]), root, proof)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_proofs_of_an_older_tree_are_served_from_the_same_nodes(size: int, data: st.DataObject) -> None:
    # The node store only grows; proofs for any earlier size must still come out right.
    _, nodes = build(make_leaves(size + 37))
    leaves = make_leaves(size)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    assert inclusion_proof(index, size, nodes) == ref_path(index, leaves)
    first = data.draw(st.integers(min_value=1, max_value=size))
    assert consistency_proof(first, size, nodes) == (ref_proof(first, leaves) if first < size else [])


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_proof_node_lists_name_only_perfect_subtrees_that_exist(size: int, data: st.DataObject) -> None:
    _, nodes = build(make_leaves(size))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    first = data.draw(st.integers(min_value=1, max_value=size))
    for ids in (inclusion_proof_nodes(index, size), consistency_proof_nodes(first, size)):
        assert len(ids) == len(set(ids))
        for level, position in ids:
            assert (position + 1) << level <= size
            assert (level, position) in nodes
    # Exactly what the proof reads: a store holding only these nodes suffices.
    only = {node: nodes[node] for node in inclusion_proof_nodes(index, size)}
    assert inclusion_proof(index, size, only) == inclusion_proof(index, size, nodes)
    only = {node: nodes[node] for node in consistency_proof_nodes(first, size)}
    assert consistency_proof(first, size, only) == consistency_proof(first, size, nodes)


# --- compact ranges --------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=300))
def test_every_node_append_emits_is_the_mth_of_the_leaves_it_covers(size: int) -> None:
    leaves = make_leaves(size)
    tree = CompactRange()
    for i, entry in enumerate(leaves):
        emitted = tree.append(leaf_hash(entry))
        assert emitted[0] == ((0, i), leaf_hash(entry))
        assert [level for (level, _), _ in emitted] == list(range(len(emitted)))
        for (level, position), digest in emitted:
            assert digest == ref_mth(leaves[position << level : (position + 1) << level])
        assert tree.size == i + 1
        assert tree.root() == ref_mth(leaves[: i + 1])
        assert len(tree.hashes) == tree.size.bit_count()
    restored = CompactRange(tree.size, list(tree.hashes))
    assert restored.root() == tree.root()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=70), max_size=6))
def test_bulk_extend_equals_one_append_at_a_time(batches: list[int]) -> None:
    one, bulk = CompactRange(), CompactRange()
    counter = 0
    for count in batches:
        hashes = [leaf_hash(f"x{counter + i}".encode()) for i in range(count)]
        counter += count
        for value in hashes:
            one.append(value)
        bulk.extend(hashes)
        assert (bulk.size, bulk.hashes) == (one.size, one.hashes)


@pytest.mark.parametrize(
    ("begin", "end", "expected"),
    [
        (0, 0, []),
        (0, 1, [(0, 0)]),
        (0, 7, [(2, 0), (1, 2), (0, 6)]),
        (0, 8, [(3, 0)]),
        (3, 13, [(0, 3), (2, 1), (2, 2), (0, 12)]),
        (5, 6, [(0, 5)]),
    ],
)
def test_range_nodes_tiles_a_range_with_maximal_perfect_subtrees(
    begin: int, end: int, expected: list[NodeId]
) -> None:
    assert range_nodes(begin, end) == expected


def test_compact_range_rejects_a_state_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError):
        CompactRange(3, [b"\x00" * 32])
    with pytest.raises(ValueError):
        CompactRange(1, [b"\x00" * 31])
    with pytest.raises(ValueError):
        CompactRange().append(b"short")


# --- malformed proofs ------------------------------------------------------------------------------
LEAVES_20 = make_leaves(20)
TREE_20, NODES_20 = build(LEAVES_20)
ROOT_20 = TREE_20.root()


def test_a_flipped_bit_anywhere_in_an_inclusion_proof_is_rejected() -> None:
    index = 13
    leaf = leaf_hash(LEAVES_20[index])
    proof = inclusion_proof(index, 20, NODES_20)
    verify_inclusion(leaf, index, 20, proof, ROOT_20)
    for position in range(len(proof)):
        for bit in range(0, HASH_SIZE * 8, 37):
            broken = list(proof)
            broken[position] = flip(broken[position], bit)
            with pytest.raises(ProofError):
                verify_inclusion(leaf, index, 20, broken, ROOT_20)
    with pytest.raises(ProofError):
        verify_inclusion(flip(leaf, 3), index, 20, proof, ROOT_20)
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, 20, proof, flip(ROOT_20, 200))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p[:-1], "too short"),
        (lambda p: [*p, p[0]], "too long"),
        (lambda p: [p[0][:31], *p[1:]], "32 bytes"),
        (lambda p: [b"", *p], "32 bytes"),
        (lambda p: [p[1], p[0], *p[2:]], "does not lead"),
    ],
)
def test_an_inclusion_proof_of_the_wrong_shape_is_rejected(
    change: Callable[[list[bytes]], list[bytes]], message: str
) -> None:
    proof = inclusion_proof(13, 20, NODES_20)
    with pytest.raises(ProofError, match=message):
        verify_inclusion(leaf_hash(LEAVES_20[13]), 13, 20, change(proof), ROOT_20)


@pytest.mark.parametrize(
    ("index", "size"), [(12, 20), (14, 20), (9, 20), (13, 16), (13, 40), (20, 20), (-1, 20)]
)
def test_an_inclusion_proof_checked_at_the_wrong_index_or_size_is_rejected(index: int, size: int) -> None:
    # Sizes whose audit path has the same shape (19 and 21 here) are indistinguishable by design:
    # the signed checkpoint, not the proof, binds the size.
    proof = inclusion_proof(13, 20, NODES_20)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(LEAVES_20[13]), index, size, proof, ROOT_20)


def test_a_tampered_consistency_proof_is_rejected() -> None:
    old_root = ref_mth(LEAVES_20[:7])
    proof = consistency_proof(7, 20, NODES_20)
    verify_consistency(7, 20, old_root, ROOT_20, proof)
    for position in range(len(proof)):
        for bit in range(0, HASH_SIZE * 8, 41):
            broken = list(proof)
            broken[position] = flip(broken[position], bit)
            with pytest.raises(ProofError):
                verify_consistency(7, 20, old_root, ROOT_20, broken)
    bad_cases = [
        (7, 20, old_root, ROOT_20, proof[:-1]),
        (7, 20, old_root, ROOT_20, [*proof, proof[0]]),
        (7, 20, old_root, ROOT_20, [proof[0][:31], *proof[1:]]),
        (7, 20, old_root, ROOT_20, []),
        (6, 20, old_root, ROOT_20, proof),
        (8, 20, old_root, ROOT_20, proof),
        (7, 10, old_root, ROOT_20, proof),
        (7, 40, old_root, ROOT_20, proof),
        (7, 20, ROOT_20, old_root, proof),
        (7, 20, flip(old_root, 1), ROOT_20, proof),
        (7, 20, old_root, flip(ROOT_20, 1), proof),
        (0, 20, old_root, ROOT_20, proof),
        (21, 20, old_root, ROOT_20, proof),
        (20, 20, ROOT_20, ROOT_20, [ROOT_20]),
        (20, 20, ROOT_20, old_root, []),
    ]
    for first, second, first_root, second_root, candidate in bad_cases:
        with pytest.raises(ProofError):
            verify_consistency(first, second, first_root, second_root, candidate)


def test_a_consistency_proof_from_a_power_of_two_size_verifies() -> None:
    # When the old tree is a perfect subtree its root is implicit (RFC 9162 §2.1.4.2 step 2).
    for first in (1, 2, 4, 8, 16):
        proof = consistency_proof(first, 20, NODES_20)
        verify_consistency(first, 20, ref_mth(LEAVES_20[:first]), ROOT_20, proof)


def test_proof_generation_rejects_impossible_arguments() -> None:
    for index, size in [(5, 5), (-1, 5), (0, 0)]:
        with pytest.raises(ValueError):
            inclusion_proof_nodes(index, size)
    for first, second in [(0, 5), (6, 5), (-1, 3)]:
        with pytest.raises(ValueError):
            consistency_proof_nodes(first, second)
    with pytest.raises(ValueError):
        range_nodes(5, 4)
    with pytest.raises(KeyError):
        inclusion_proof(3, 20, {})


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"abc") == sha256(b"\x00abc").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert leaf_hash(b"a" * 32 + b"b" * 32) != node_hash(b"a" * 32, b"b" * 32)


def test_proofs_for_a_million_leaves_need_only_about_log_n_nodes() -> None:
    size = 1_000_000
    ids = inclusion_proof_nodes(765_432, size)
    assert len(ids) <= 2 * size.bit_length()
    assert len(consistency_proof_nodes(654_321, size)) <= 2 * size.bit_length()
