"""The ``data_quality`` check: the data quality profile of each pinned dataset version against the
policy's rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.approvals.check_types import FAILED, CheckResult, CheckSubject, check_result


def data_quality(subject: CheckSubject, params: Mapping[str, Any]) -> CheckResult:
    return check_result("data_quality", FAILED, "not evaluated yet: this check is being built (fails closed)")
