"""The filter's Django-free rules: the newest choice wins, in whatever order events arrive."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from governance.consent.eligibility import (
    KINDS,
    PurposeState,
    effective_state,
    factorize_ids,
    judge_rows,
    purpose_and_ancestors,
    subject_reason,
    subjects_digest,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _fold(events: list[tuple[str, int]]) -> PurposeState:
    state = PurposeState()
    for kind, minute in events:
        state = state.add(kind, (T0 + timedelta(minutes=minute), minute), lawful_basis="consent")
    return state


def test_a_withdrawal_after_a_grant_wins_and_a_grant_after_a_withdrawal_wins_back() -> None:
    assert _fold([("grant", 1), ("withdraw", 2)]).status == "withdrawn"
    assert _fold([("withdraw", 1), ("grant", 2)]).status == "granted"
    assert _fold([("grant", 1), ("limit_sensitive", 2)]).limited is True
    assert _fold([("limit_sensitive", 1), ("grant", 2)]).limited is False


@given(
    st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 10_000)), max_size=12, unique_by=lambda e: e[1])
)
def test_events_folded_in_any_order_or_merged_in_parts_give_the_same_state(
    events: list[tuple[str, int]],
) -> None:
    half = len(events) // 2
    assert _fold(events) == _fold(list(reversed(events)))
    assert _fold(events[:half]).merge(_fold(events[half:])) == _fold(events)


def test_the_state_for_a_purpose_merges_its_fideslang_ancestors() -> None:
    by_purpose = {"personalize": _fold([("object", 5)]), "personalize.profiling": _fold([("grant", 1)])}

    assert purpose_and_ancestors("a.b.c") == ["a", "a.b", "a.b.c"]
    assert effective_state(by_purpose, "personalize.profiling").status == "objected"  # type: ignore[union-attr]
    assert effective_state(by_purpose, "analytics") is None


def test_a_subject_gets_the_first_reason_that_applies() -> None:
    granted = _fold([("grant", 1)])
    limited = _fold([("grant", 1), ("limit_sensitive", 2)])

    assert subject_reason(granted, erased=True, sensitive=False) == "erasure"
    assert subject_reason(None, erased=False, sensitive=False) == "no_lawful_basis"
    assert subject_reason(_fold([("opt_out", 1)]), erased=False, sensitive=False) == "opted_out"
    assert subject_reason(limited, erased=False, sensitive=False) is None
    assert subject_reason(limited, erased=False, sensitive=True) == "limited_sensitive"


def test_rows_are_judged_by_their_subject_and_a_row_without_one_has_its_own_reason() -> None:
    codes, subjects = factorize_ids(pd.Series(["a", " b", None, "a", "", "c"], dtype=object))

    verdict = judge_rows(codes, subjects, {"a": None, "b": "withdrawn"})

    assert subjects == ["a", "b", "c"]
    assert verdict.included.tolist() == [True, False, False, True, False, False]
    assert verdict.rows_by_reason["no_subject_id"] == 2
    assert verdict.rows_by_reason["withdrawn"] == 1 and verdict.rows_by_reason["no_lawful_basis"] == 1
    assert verdict.included_subjects == ["a"]
    assert subjects_digest(["b", "a"]) == hashlib.sha256(b"a\nb").hexdigest()
    assert judge_rows(np.array([-1]), [], {}).rows_by_reason["no_subject_id"] == 1
