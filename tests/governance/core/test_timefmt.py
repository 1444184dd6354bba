from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from governance.core.timefmt import parse_utc_text, utc_text


def test_an_instant_is_written_in_utc_with_microseconds_and_read_back() -> None:
    moment = datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert utc_text(moment) == "2026-03-01T10:00:00.000005Z"
    assert parse_utc_text(utc_text(moment)) == moment.astimezone(UTC)


def test_it_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        utc_text(datetime(2026, 3, 1))  # noqa: DTZ001
