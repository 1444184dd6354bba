"""The ``bias_within_threshold`` check: the model version's bias examination against the policy's
thresholds (EU AI Act Art. 10(2)(f) and (5)).

On a deploy request it reads the examination the training job recorded on the version's held-out rows
(``ModelVersion.bias_examination``, written by ``governance.jobs.bias``): a version with none, a column
the policy requires that was not examined, or a difference above the policy's threshold fails. On a train
request there is no model yet, so it asks what the job will need: every pinned dataset holding personal
data declares its protected attributes, and the columns the policy requires are among them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from governance.approvals import rules_bias
from governance.approvals.check_types import FAILED, PASSED, CheckResult, CheckSubject, check_result
from registry.models import DatasetVersion, ModelVersion

NAME = "bias_within_threshold"
NO_EXAMINATION = (
    "no bias examination recorded: train it through an approved training request on data that declares "
    "protected_attributes"
)


def bias_within_threshold(subject: CheckSubject, params: Mapping[str, Any]) -> CheckResult:
    if subject.model_version is None:
        return _before_training(subject.dataset_versions, params)
    return _examined(subject.model_version, params)


def _before_training(versions: Sequence[DatasetVersion], params: Mapping[str, Any]) -> CheckResult:
    declared = {
        version.dataset.node_id: _columns(version.dataset.protected_attributes) for version in versions
    }
    lacking = [
        version.dataset.node_id
        for version in versions
        if version.dataset.holds_personal_data and not declared[version.dataset.node_id]
    ]
    if not any(declared.values()):
        lacking = sorted({version.dataset.node_id for version in versions}) or ["the pinned datasets"]
    columns = sorted({column for names in declared.values() for column in names})
    data = {"declared": declared, "policy": dict(params)}
    if lacking:
        return check_result(
            NAME,
            FAILED,
            f"declare protected_attributes on {', '.join(sorted(set(lacking)))}, so the training job can "
            "examine bias (EU AI Act Art. 10(2)(f))",
            data,
        )
    required = [column for column in params.get(rules_bias.ATTRIBUTES, []) if column not in columns]
    if required:
        return check_result(
            NAME,
            FAILED,
            f"the policy requires {', '.join(required)} examined, but no pinned dataset declares "
            f"{'it' if len(required) == 1 else 'them'} in protected_attributes",
            data,
        )
    return check_result(NAME, PASSED, f"the training job will examine bias on {', '.join(columns)}", data)


def _examined(version: ModelVersion, params: Mapping[str, Any]) -> CheckResult:
    examination = version.bias_examination or {}
    if not examination:
        return check_result(NAME, FAILED, NO_EXAMINATION, {"model_version": version.node_id})
    attributes = {item["column"]: item for item in examination.get("attributes", [])}
    values = {
        column: {metric: item.get(metric) for metric in rules_bias.METRICS}
        for column, item in attributes.items()
    }
    data = {
        "model_version": version.node_id,
        "values": values,
        "skipped": list(examination.get("skipped", [])),
        "policy": dict(params),
    }
    problems = _unexamined(examination, params.get(rules_bias.ATTRIBUTES, []))
    if not attributes and not problems:
        problems.append("no protected attribute was examined")
    for column, measured in sorted(values.items()):
        for metric in rules_bias.METRICS:
            if metric not in params:
                continue
            value = measured[metric]
            if value is None:
                problems.append(f"{column}: {metric} could not be computed (no two groups define it)")
            elif value > params[metric]:
                problems.append(f"{column}: {metric} {value} > {params[metric]}")
    if problems:
        return check_result(NAME, FAILED, "; ".join(problems), data)
    bounded = [metric for metric in rules_bias.METRICS if metric in params]
    detail = f"bias examined on {', '.join(sorted(attributes))}"
    detail += f"; {' and '.join(bounded)} within the policy's thresholds" if bounded else "; no threshold set"
    return check_result(NAME, PASSED, detail, data)


def _unexamined(examination: Mapping[str, Any], required: Sequence[str]) -> list[str]:
    """A problem per column the policy requires that the examination did not cover, with why."""
    examined = {item["column"] for item in examination.get("attributes", [])}
    skipped = {item["column"]: item["reason"] for item in examination.get("skipped", [])}
    problems = []
    for column in required:
        if column in examined:
            continue
        why = skipped.get(column, "no pinned dataset declared it in protected_attributes")
        problems.append(f"{column}: not examined ({why})")
    return problems


def _columns(declared: Any) -> list[str]:
    if not isinstance(declared, list):
        return []
    return sorted(
        {str(item["column"]) for item in declared if isinstance(item, Mapping) and item.get("column")}
    )
