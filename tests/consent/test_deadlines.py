"""Legal deadlines for answering a data subject (GDPR Art. 12(3); CCPA)."""

from __future__ import annotations

from datetime import date

import pytest

from governance.consent.deadlines import add_business_days, add_month, deadlines_for


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 1, 31), date(2026, 2, 28)),
        (date(2028, 1, 31), date(2028, 2, 29)),
        (date(2026, 12, 15), date(2027, 1, 15)),
        (date(2026, 5, 31), date(2026, 6, 30)),
    ],
)
def test_one_month_ends_on_the_same_date_or_the_last_day_of_a_shorter_month(
    received: date, due: date
) -> None:
    assert add_month(received) == due


def test_business_days_skip_weekends() -> None:
    assert add_business_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday
    assert add_business_days(date(2026, 3, 7), 10) == date(2026, 3, 20)  # from a Saturday


def test_a_californian_gets_a_confirmation_deadline_and_45_days_others_one_month() -> None:
    california = deadlines_for("california", date(2026, 3, 6))
    europe = deadlines_for("eu_eea", date(2026, 3, 6))

    assert (california.acknowledge_by, california.respond_by) == (date(2026, 3, 20), date(2026, 4, 20))
    assert (europe.acknowledge_by, europe.respond_by) == (None, date(2026, 4, 6))
