"""Legal deadlines for answering a data subject's request (Django-free).

- GDPR Art. 12(3) (and the UK GDPR): answer "without undue delay and in any event within one month of
  receipt". A period in months ends on the same date of the following month or, when that month has
  no such date, on its last day (Regulation (EEC, Euratom) No 1182/71, Art. 3(2)(c)).
- CCPA: confirm receipt within 10 business days (Cal. Code Regs. tit. 11, §7021(a)) and answer within
  45 calendar days (Cal. Civ. Code §1798.130(a)(2)(A)). Business days here are Monday to Friday;
  public holidays are not subtracted, so the date shown is never later than the legal one.
- Any other jurisdiction gets the one-month period: the shorter answer deadline of the two.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

CCPA_JURISDICTIONS: Final = frozenset({"california"})
CCPA_ACKNOWLEDGE_BUSINESS_DAYS: Final = 10
CCPA_RESPOND_DAYS: Final = 45


@dataclass(frozen=True)
class Deadlines:
    acknowledge_by: date | None
    respond_by: date
    rule: str


def add_month(day: date) -> date:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_business_days(day: date, count: int) -> date:
    current = day
    while count > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            count -= 1
    return current


def deadlines_for(jurisdiction: str, received: date) -> Deadlines:
    if jurisdiction in CCPA_JURISDICTIONS:
        return Deadlines(
            acknowledge_by=add_business_days(received, CCPA_ACKNOWLEDGE_BUSINESS_DAYS),
            respond_by=received + timedelta(days=CCPA_RESPOND_DAYS),
            rule="CCPA: confirm within 10 business days (11 CCR §7021(a)), answer within 45 days (§1798.130)",
        )
    return Deadlines(
        acknowledge_by=None,
        respond_by=add_month(received),
        rule="GDPR Art. 12(3): answer within one month of receipt",
    )
