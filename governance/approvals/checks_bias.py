"""The ``bias_within_threshold`` check: the model version's bias examination against the policy's
thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.approvals.check_types import FAILED, CheckResult, CheckSubject, check_result


def bias_within_threshold(subject: CheckSubject, params: Mapping[str, Any]) -> CheckResult:
    return check_result(
        "bias_within_threshold", FAILED, "not evaluated yet: this check is being built (fails closed)"
    )
