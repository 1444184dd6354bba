"""When the audit committer sends the frames it has read (audit.pipeline.batch_due): at once when
nothing is in flight, behind a batch only once as many frames wait as that batch carries, and never more
than ``MAX_IN_FLIGHT`` batches at a time. The committer's behaviour end to end is in test_committer.py."""

from __future__ import annotations

import pytest

from audit.pipeline import MAX_IN_FLIGHT, batch_due


@pytest.mark.parametrize("waiting", [1, 2, 50])
def test_with_nothing_in_flight_any_frame_goes_at_once(waiting: int) -> None:
    assert batch_due([], waiting)


@pytest.mark.parametrize(
    ("in_flight", "waiting", "due"),
    [
        ([1], 1, True),
        ([3], 2, False),  # it would start only after the three commit: wait for more
        ([3], 3, True),
        ([3], 7, True),
        ([8], 7, False),
    ],
)
def test_behind_a_batch_the_next_goes_once_it_is_at_least_as_large(
    in_flight: list[int], waiting: int, due: bool
) -> None:
    assert batch_due(in_flight, waiting) is due


def test_never_more_than_max_in_flight_batches() -> None:
    assert not batch_due([1] * MAX_IN_FLIGHT, 1_000)
