"""The automated checks a policy names, run on a release request when it is made.

Each check answers passed, failed or not_applicable (the policy limits it to other risk levels) with a
sentence saying why. A check that cannot be evaluated fails: nothing is approved on a question nobody
could answer. The consent checks ask ``governance.consent.selectors`` (imported when needed, so the two
apps stay loosely coupled).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from governance.approvals import rules
from governance.approvals.check_types import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    CheckResult,
    CheckSubject,
)
from governance.approvals.check_types import (
    check_result as _result,
)
from governance.approvals.checks_bias import bias_within_threshold
from governance.approvals.checks_quality import data_quality
from governance.approvals.hashing import utc_text
from governance.consent import selectors as consent_selectors
from governance.core.errors import ApplicationError
from governance.core.roles import Role
from registry.models import MetricsSource, ModelVersion

CONSENT_SELECTORS = "governance.consent.selectors"


def consent_selector(name: str) -> Callable[..., Any] | None:
    """A function of the consent app's selectors, or None when it provides none by that name (the checks
    then fail closed). Looked up by name so tests can stand in for the consent app."""
    function = getattr(consent_selectors, name, None)
    return function if callable(function) else None


def checks_run(
    subject: CheckSubject, checks: Sequence[rules.CheckSpec], *, at: datetime | None = None
) -> list[CheckResult]:
    """Each check's result, stamped with the time it was evaluated (``at``, else now): an answer about
    consent or erasure holds only as of that moment."""
    evaluated_at = utc_text(at or timezone.now())
    results: list[CheckResult] = []
    for check in checks:
        if not rules.check_applies(check, subject.risk_level):
            results.append(
                _result(
                    check["name"], NOT_APPLICABLE, f"applies to risk levels {', '.join(check['risk_levels'])}"
                )
            )
            continue
        results.append(_RUNNERS[check["name"]](subject, check["params"]))
    for result in results:
        result["evaluated_at"] = evaluated_at
    return results


def _risk_not_prohibited(subject: CheckSubject, params: Mapping[str, Any]) -> CheckResult:
    name = "risk_not_prohibited"
    if subject.risk_level == "unacceptable":
        return _result(name, FAILED, "unacceptable-risk AI practices are prohibited (EU AI Act Art. 5)")
    return _result(name, PASSED, f"risk level {subject.risk_level} is not prohibited (EU AI Act Art. 5)")


def _metric_thresholds(subject: CheckSubject, params: Mapping[str, Any]) -> CheckResult:
    name = "metric_thresholds"
    floors: rules.Bounds = params.get("metrics", {})
    declared = subject.metric_thresholds
    if subject.kind == "train":
        if not declared and not floors:
            return _result(
                name, FAILED, "declare metric_thresholds before training, so evaluation cannot move them"
            )
        problems = rules.thresholds_at_least_as_strict(declared, floors)
        if problems:
            return _result(name, FAILED, "; ".join(problems), {"declared": declared, "policy": floors})
        return _result(
            name, PASSED, "thresholds declared before evaluation", {"declared": declared, "policy": floors}
        )
    version = subject.model_version
    metrics = version.metrics if version is not None else {}
    if not declared and not floors:
        return _result(name, FAILED, "no thresholds to judge the model by: declare metric_thresholds")
    data = {"metrics": metrics, "declared": declared, "policy": floors}
    if version is not None and version.metrics_source != MetricsSource.SERVICE:
        who = metrics_declared_by(version)
        return _result(
            name,
            FAILED,
            f"the metrics of {version.node_id} were declared by {who}, not computed by the service; "
            "thresholds are met only by the training job's held-out evaluation or a governed evaluation "
            "on a registered dataset version: train it through an approved training request",
            {**data, "metrics_source": version.metrics_source, "declared_by": who},
        )
    problems = rules.metrics_meet(floors, metrics) + rules.metrics_meet(declared, metrics)
    if problems:
        return _result(name, FAILED, "; ".join(problems), data)
    return _result(name, PASSED, "the model version's metrics meet every threshold", data)


def metrics_declared_by(version: ModelVersion) -> str:
    """Who typed in a model version's metrics, as the pages show it ("declared by <user>")."""
    person = version.created_by
    return person.full_name or person.username


def _dpia_reference(subject: CheckSubject, params: Mapping[str, Any]) -> CheckResult:
    name = "dpia_reference"
    if not subject.dpia_reference.strip():
        return _result(
            name, FAILED, "give dpia_reference: the data protection impact assessment (GDPR Art. 35)"
        )
    return _result(name, PASSED, f"DPIA {subject.dpia_reference}")


def _human_overseer(subject: CheckSubject, params: Mapping[str, Any]) -> CheckResult:
    name = "human_overseer"
    person = subject.human_overseer
    if person is None:
        return _result(
            name, FAILED, "name a human_overseer (a username) who can stop the system (EU AI Act Art. 14)"
        )
    roles = set(person.groups.values_list("name", flat=True))
    if not person.is_active or Role.PIPELINE in roles:
        return _result(name, FAILED, "the human overseer must be an active person, not a machine account")
    return _result(name, PASSED, f"overseen by {person.full_name or person.username}", {"user_id": person.pk})


def _lawful_basis(subject: CheckSubject, params: Mapping[str, Any]) -> CheckResult:
    name = "lawful_basis"
    purpose = params.get("purpose", "train_ai_system")
    personal = [version for version in subject.dataset_versions if version.dataset.holds_personal_data]
    if not personal:
        return _result(name, PASSED, "no dataset version holds personal data", {"purpose": purpose})
    manifest_of = consent_selector("eligibility_manifest")
    if manifest_of is None:
        return _result(
            name, FAILED, f"consent records are not available ({CONSENT_SELECTORS}.eligibility_manifest)"
        )
    found: dict[str, Any] = {}
    problems: list[str] = []
    for version in personal:
        try:
            manifest = manifest_of(dataset_version=version, purpose=purpose)
        except ApplicationError as exc:
            problems.append(f"{version.node_id}: {exc.detail}")
            continue
        found[version.node_id] = _scalars(manifest)
        if not manifest.get("rows_included"):
            problems.append(f"{version.node_id}: no row has a lawful basis recorded for {purpose}")
    data = {"purpose": purpose, "manifests": found}
    if problems:
        return _result(name, FAILED, "; ".join(problems), data)
    return _result(name, PASSED, f"a lawful basis for {purpose} is recorded (GDPR Art. 6)", data)


def _no_erasure_impact(subject: CheckSubject, params: Mapping[str, Any]) -> CheckResult:
    name = "no_erasure_impact"
    affected_of = consent_selector("erasure_affected_nodes")
    if affected_of is None:
        return _result(
            name, FAILED, f"erasure records are not available ({CONSENT_SELECTORS}.erasure_affected_nodes)"
        )
    model_ids = (subject.model_version.pk,) if subject.model_version is not None else ()
    affected = list(
        affected_of(
            dataset_version_ids=tuple(version.pk for version in subject.dataset_versions),
            model_version_ids=model_ids,
        )
    )
    if affected:
        return _result(
            name,
            FAILED,
            f"an erasure request affects {', '.join(sorted(affected))} (GDPR Art. 17)",
            {"affected": sorted(affected)},
        )
    return _result(name, PASSED, "no erasure request affects the data or model")


def _scalars(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-plain parts of a consent manifest (counts, hashes), kept with the check result."""
    plain = (str, int, float, bool, type(None))
    kept: dict[str, Any] = {}
    for key, value in manifest.items():
        if isinstance(value, plain):
            kept[str(key)] = value
        elif isinstance(value, Mapping) and all(isinstance(item, plain) for item in value.values()):
            kept[str(key)] = {str(k): v for k, v in value.items()}
    return kept


_RUNNERS: dict[str, Callable[[CheckSubject, Mapping[str, Any]], CheckResult]] = {
    "risk_not_prohibited": _risk_not_prohibited,
    "metric_thresholds": _metric_thresholds,
    "dpia_reference": _dpia_reference,
    "human_overseer": _human_overseer,
    "lawful_basis": _lawful_basis,
    "no_erasure_impact": _no_erasure_impact,
    "data_quality": data_quality,
    "bias_within_threshold": bias_within_threshold,
}
assert set(_RUNNERS) == set(rules.CHECK_NAMES)  # noqa: S101 (a check named in rules but not run here is a bug)
