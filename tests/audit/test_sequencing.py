"""The sequencer builds entries byte for byte as canonical JSON of the queued fields, however they were
queued: the fast path (the standard library's codec, checked before use) and ``canonical_json`` agree."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.jcs import canonical_json
from audit.merkle import CompactRange, leaf_hash
from audit.models import AuditNode
from audit.sequencing import build, entry_bytes, parse_fields

PREV = "ab" * 32

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.text(alphabet=st.characters(codec="ascii")),
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


def _fields(data: Any) -> dict[str, Any]:
    return {
        "action": "user.create",
        "actor": {"id": "w1", "type": "worker"},
        "data": data,
        "request_id": None,
        "target": {"id": "7", "type": "user"},
        "timestamp": "2026-12-03T06:25:58.630844Z",
    }


def _expected(index: int, text: str) -> bytes:
    return canonical_json({"v": 1, "index": index, "prev": PREV, **json.loads(text)})


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(st.text(max_size=8), _values, max_size=5), index=st.integers(0, 2**40))
def test_an_entry_is_canonical_json_of_its_queued_fields_whatever_they_hold(
    data: dict[str, Any], index: int
) -> None:
    try:
        canonical = canonical_json(_fields(data)).decode("utf-8")
    except ValueError:
        return  # a lone surrogate: audit_record refuses it before anything is queued
    try:
        expected = _expected(index, canonical)
    except ValueError:
        # e.g. the float 2.0**53, written as an integer out of I-JSON's range: both paths refuse it.
        with pytest.raises(ValueError):
            entry_bytes(index, PREV, canonical)
        return
    raw, fields = entry_bytes(index, PREV, canonical)
    assert raw == expected
    assert fields == json.loads(canonical)


@settings(max_examples=100, deadline=None)
@given(data=st.dictionaries(st.text(max_size=8), _values, max_size=5))
def test_fields_queued_as_postgresql_jsonb_text_are_canonicalised_too(data: dict[str, Any]) -> None:
    # registry's lineage function queues jsonb::text: other key order, spaces after ':' and ','.
    try:
        canonical_json(_fields(data))
    except ValueError:
        return
    text = json.dumps(_fields(data), separators=(", ", ": "))
    try:
        expected = _expected(3, text)
    except ValueError:
        with pytest.raises(ValueError):
            entry_bytes(3, PREV, text)
        return
    assert entry_bytes(3, PREV, text)[0] == expected


def test_values_the_fast_path_must_not_encode_take_canonical_json() -> None:
    for data in (
        {"f": 1.0},
        {"f": 1e-7},
        {"big": 2**53 - 1},
        {"ключ": 1},
        {"\U0001f600": 1, "\ufb33": 2},
        {"nested": [[[[1]]]]},
        {"control": "\u0001"},
    ):
        text = canonical_json(_fields(data)).decode("utf-8")
        assert entry_bytes(5, PREV, text)[0] == _expected(5, text)


def test_a_batch_completes_the_same_subtrees_as_appending_leaf_by_leaf() -> None:
    texts = [canonical_json(_fields({"n": n})).decode("utf-8") for n in range(37)]
    first = build(0, "0" * 64, b"", texts[:13])
    second = build(13, first.last_hash, first.compact_range, texts[13:])

    tree = CompactRange()
    expected: list[tuple[int, bytes]] = []
    for raw in first.entries + second.entries:
        for (level, index), digest in tree.append(leaf_hash(raw)):
            expected.append((AuditNode.key_for(level, index), digest))
    built_nodes = list(
        zip(first.node_keys + second.node_keys, first.node_hashes + second.node_hashes, strict=True)
    )
    assert built_nodes == expected
    assert second.compact_range == b"".join(tree.hashes)
    assert json.loads(second.entries[0])["prev"] == first.last_hash


@settings(max_examples=150, deadline=None)
@given(items=st.lists(st.dictionaries(st.text(max_size=8), _values, max_size=4), min_size=1, max_size=6))
def test_fields_the_committer_parsed_once_make_the_same_entries_as_their_text(
    items: list[dict[str, Any]],
) -> None:
    # The committer parses a frame's fields when it checks the frame and hands the parsed fields to
    # the sequencer, which would otherwise parse the text again.
    texts = []
    for data in items:
        try:
            text = canonical_json(_fields(data)).decode("utf-8")
            _expected(0, text)
        except ValueError:
            continue  # refused before anything is queued or handed
        texts.append(text)
    assert build(0, "0" * 64, b"", [parse_fields(text) for text in texts]) == build(0, "0" * 64, b"", texts)


@pytest.mark.parametrize("text", ["[1, 2]", '"fields"', "7", "null"])
def test_fields_that_are_not_an_object_are_refused(text: str) -> None:
    with pytest.raises(TypeError):
        parse_fields(text)
