"""Making and withdrawing release requests.

A request pins the SHA-256 of everything it covers (each dataset version for training, with its data
quality profile's, the model artifact for a deploy), is judged under one policy version, and runs that
version's automated checks at once: a request that fails a check is rejected on the spot, with the
results kept for the record.
No requester can weaken what it takes: the risk level is never below the model's recorded one, the
policy is the strictest that covers the request, and a version that is only a reference, or in no safe
format, is never asked to be deployed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.jcs import canonical_json
from audit.services import Target, audit_record
from governance.accounts.models import User
from governance.approvals import hashing, hooks, risk, rules, selectors
from governance.approvals.automated_checks import checks_run
from governance.approvals.check_types import FAILED, CheckResult, CheckSubject
from governance.approvals.models import (
    OPEN_STATUSES,
    ReleaseDataset,
    ReleaseKind,
    ReleaseRequest,
    ReleaseStatus,
)
from governance.approvals.policy_choice import policy_version_choose
from governance.approvals.services.grants import grants_revoke
from governance.core.errors import ApplicationError, Conflict, NotFound, PermissionRefused, ValidationFailed
from registry.models import DatasetVersion, ModelVersion, RegisteredModel, RiskClassification
from registry.selectors import catalog
from registry.selectors.quality import quality_profiles_of
from registry.services.catalog import DatasetVersionRef, acting_user_id


def _canonical(value: Any, *, field: str) -> None:
    try:
        canonical_json(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{field}: cannot be hashed as canonical JSON ({exc})") from exc


def _pinned_dataset_versions(refs: Sequence[DatasetVersionRef]) -> list[DatasetVersion]:
    versions: list[DatasetVersion] = []
    for index, ref in enumerate(refs):
        field = f"datasets[{index}]"
        try:
            dataset = catalog.dataset_get(namespace=ref.get("namespace") or "default", name=ref["name"])
            version = catalog.dataset_version_get(dataset=dataset, version=ref["version"])
        except NotFound as exc:
            raise ValidationFailed(f"{field}: {exc.detail}") from exc
        if version.archived_at is not None:
            raise Conflict(f"{field}: {version.node_id} is archived; an archived version is not used")
        if not version.sha256:
            raise ValidationFailed(
                f"{field}: {version.node_id} has no SHA-256, so it cannot be pinned; upload it"
            )
        if any(other.pk == version.pk for other in versions):
            raise ValidationFailed(f"{field}: {version.node_id} is listed twice")
        versions.append(version)
    return versions


@dataclass(frozen=True)
class ReleaseAsk:
    """What a requester asks for, as sent (``release_create``'s arguments)."""

    kind: str
    model: str
    datasets: Sequence[DatasetVersionRef] = ()
    version: int | None = None
    environment: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    code_version: str = ""
    metric_thresholds: Mapping[str, Any] = field(default_factory=dict)
    risk_level: str = ""
    dpia_reference: str = ""
    human_overseer: str = ""
    justification: str = ""
    policy: str = ""


def release_create(
    *,
    actor: Actor,
    kind: str,
    model: str,
    datasets: Sequence[DatasetVersionRef] = (),
    version: int | None = None,
    environment: str = "",
    parameters: Mapping[str, Any] | None = None,
    code_version: str = "",
    metric_thresholds: Mapping[str, Any] | None = None,
    risk_level: str = "",
    dpia_reference: str = "",
    human_overseer: str = "",
    justification: str = "",
    policy: str = "",
) -> ReleaseRequest:
    """Ask to train (``datasets``, ``parameters``, ``code_version`` → model ``model``) or to deploy
    (``model`` version ``version`` → ``environment``); a request refused when filed stores nothing and
    leaves a ``release.refuse`` audit entry saying why (``_train_file`` and ``_deploy_file`` do the work)."""
    ask = ReleaseAsk(
        kind=kind,
        model=model,
        datasets=datasets,
        version=version,
        # One name whatever its spelling, as governed aliases are: "Production" meets production's policy.
        environment=environment.lower(),
        parameters=dict(parameters or {}),
        code_version=code_version,
        metric_thresholds=dict(metric_thresholds or {}),
        risk_level=risk_level,
        dpia_reference=dpia_reference,
        human_overseer=human_overseer,
        justification=justification,
        policy=policy,
    )
    try:
        if ask.kind == ReleaseKind.DEPLOY:
            return _deploy_file(actor=actor, ask=ask)
        return _train_file(actor=actor, ask=ask)  # an unknown kind is refused there (``_thresholds``)
    except ApplicationError as exc:
        release_refusal_record(actor=actor, ask=ask, refusal=exc)
        raise


def release_refusal_record(*, actor: Actor, ask: ReleaseAsk, refusal: ApplicationError) -> None:
    """One audit entry for a release request refused when filed: what was asked and why not."""
    audit_record(
        actor=actor,
        action=AuditAction.RELEASE_REFUSE,
        target=Target.of("model", f"model:{ask.model}"),
        data={
            "kind": ask.kind,
            "version": ask.version,
            "environment": ask.environment,
            "risk_level": ask.risk_level,
            "policy": ask.policy,
            "error": refusal.code,
            "detail": refusal.detail,
        },
    )


def _deploy_version(ask: ReleaseAsk) -> ModelVersion:
    if ask.datasets or ask.parameters or ask.code_version:
        raise ValidationFailed("datasets, parameters and code_version belong to training requests")
    if ask.version is None or not ask.environment:
        raise ValidationFailed("a deploy request names the model's version and the environment")
    try:
        model_version = catalog.model_version_get(model_name=ask.model, version=ask.version)
    except NotFound as exc:
        raise ValidationFailed(f"version: {exc.detail}") from exc
    if model_version.archived_at is not None:
        raise Conflict(f"{model_version.node_id} is archived; it is not deployed")
    if not model_version.artifact_sha256:
        raise ValidationFailed(f"{model_version.node_id} has no artifact SHA-256, so it cannot be pinned")
    undeployable = model_version.undeployable_reason
    if undeployable:
        raise ValidationFailed(undeployable, code="not_deployable")
    return model_version


def _training_datasets(ask: ReleaseAsk) -> list[DatasetVersion]:
    if ask.version is not None:
        raise ValidationFailed("version: a training request makes a new version; leave version out")
    if not ask.datasets:
        raise ValidationFailed("datasets: name at least one dataset version to train on")
    hooks.training_parameters_check(ask.parameters)  # what the job will accept, before anyone signs
    return _pinned_dataset_versions(ask.datasets)


def _risk_level(ask: ReleaseAsk) -> tuple[str, RiskClassification | None]:
    """The level the request is judged at: the highest ever recorded for the model since an officer's
    reclassification (``approvals.risk``), or higher if the request declares so; never lower."""
    registered = RegisteredModel.objects.filter(name=ask.model).first()
    if registered is not None and registered.archived_at is not None:
        raise Conflict(f"model {ask.model!r} is archived")
    declared = ask.risk_level
    if declared and declared not in rules.RISK_LEVELS:
        raise ValidationFailed(f"risk_level: {declared!r} is not one of {', '.join(rules.RISK_LEVELS)}")
    recorded = risk.effective_risk(ask.model, registered)
    if recorded is None:
        if not declared:
            raise ValidationFailed(
                f"risk_level: model {ask.model!r} is not registered yet; declare its risk level"
            )
        return declared, None
    if declared and risk.risk_rank(declared) < risk.risk_rank(recorded.level):
        raise ValidationFailed(
            f"risk_level: model {ask.model!r} is at risk level {recorded.level} ({recorded.source}); "
            f"a request cannot declare {declared}. Only a compliance officer's reclassification, "
            "with its reason, lowers a model's risk level",
            code="risk_level_too_low",
            extra={"risk_level": recorded.level},
        )
    level = declared if declared and risk.risk_rank(declared) > risk.risk_rank(recorded.level) else ""
    return level or recorded.level, recorded.reclassification


@transaction.atomic
def _train_file(*, actor: Actor, ask: ReleaseAsk) -> ReleaseRequest:
    """A training request: each dataset version to train on pinned by its SHA-256; parameters the
    training job accepts (``hooks.training_parameters_check``)."""
    requester_id = acting_user_id(actor)
    thresholds = _thresholds(ask)
    versions = _training_datasets(ask)
    release = _release_build(ask, requester_id=requester_id, thresholds=thresholds, model_version=None)
    profiles = quality_profiles_of(versions)
    pins = [
        hashing.pin(dv.node_id, dv.sha256, profiles[dv.pk].sha256 if dv.pk in profiles else None)
        for dv in versions
    ]
    return _release_store(actor=actor, release=release, pins=pins, pinned_versions=versions)


@transaction.atomic
def _deploy_file(*, actor: Actor, ask: ReleaseAsk) -> ReleaseRequest:
    """A deploy request: the (deployable) model version's artifact pinned by its SHA-256."""
    requester_id = acting_user_id(actor)
    thresholds = _thresholds(ask)
    version = _deploy_version(ask)
    release = _release_build(ask, requester_id=requester_id, thresholds=thresholds, model_version=version)
    pins: list[hashing.PinnedHash] = [{"node_id": version.node_id, "sha256": version.artifact_sha256}]
    return _release_store(actor=actor, release=release, pins=pins, pinned_versions=[])


def _release_build(
    ask: ReleaseAsk, *, requester_id: int, thresholds: rules.Bounds, model_version: ModelVersion | None
) -> ReleaseRequest:
    """The unsaved request, judged at its risk level (never below the highest recorded for the model,
    ``_risk_level``) under the strictest policy version covering it (``policy_choice``)."""
    if ask.environment and not rules.ENVIRONMENT.match(ask.environment):
        raise ValidationFailed(f"environment: {ask.environment!r} is not an environment name")
    risk_level, reclassification = _risk_level(ask)
    overseer = _overseer(ask)
    policy_version = policy_version_choose(
        named=ask.policy, kind=ask.kind, environment=ask.environment, risk_level=risk_level
    )
    return ReleaseRequest(
        kind=ask.kind,
        policy_version=policy_version,
        requested_by_id=requester_id,
        environment=ask.environment,
        risk_level=risk_level,
        risk_classification=reclassification,
        model_name=ask.model,
        model_version=model_version,
        model_sha256=model_version.artifact_sha256 if model_version is not None else "",
        parameters=dict(ask.parameters),
        code_version=ask.code_version,
        metric_thresholds=thresholds,
        dpia_reference=ask.dpia_reference.strip(),
        human_overseer=overseer,
        justification=ask.justification,
        created_at=timezone.now(),
    )


def _release_store(
    *,
    actor: Actor,
    release: ReleaseRequest,
    pins: list[hashing.PinnedHash],
    pinned_versions: list[DatasetVersion],
) -> ReleaseRequest:
    """Hash the request (canonical JSON), run the checks (a failed one rejects it at once), store it
    with its pins and audit it."""
    release.request_hash = hashing.request_hash(selectors.release_document(release, pins))
    results = _checks_run(release, pinned_versions)
    release.save()
    ReleaseDataset.objects.bulk_create(
        ReleaseDataset(release=release, dataset_version=dv, node_id=dv.node_id, sha256=dv.sha256)
        for dv in pinned_versions
    )
    policy_version = release.policy_version
    audit_record(
        actor=actor,
        action=AuditAction.RELEASE_CREATE,
        target=Target.of("release", release.pk),
        data={
            "kind": release.kind,
            "request_hash": release.request_hash,
            "pinned": sorted(pins, key=lambda pin: pin["node_id"]),
            "policy": {"name": policy_version.policy.name, "version": policy_version.version},
            "risk_level": release.risk_level,
            "risk_classification": release.risk_classification_id,
            "status": release.status,
            "checks": {result["name"]: result["status"] for result in results},
        },
    )
    return release


def _thresholds(ask: ReleaseAsk) -> rules.Bounds:
    if ask.kind not in ReleaseKind.values:
        raise ValidationFailed(f"kind: {ask.kind!r} is not a request kind; choose train or deploy")
    _canonical(dict(ask.parameters), field="parameters")
    try:
        return rules.thresholds_normalize(ask.metric_thresholds, field="metric_thresholds")
    except rules.PolicyError as exc:
        raise ValidationFailed(str(exc)) from exc


def _overseer(ask: ReleaseAsk) -> User | None:
    if not ask.human_overseer:
        return None
    overseer = User.objects.filter(username=ask.human_overseer).first()
    if overseer is None:
        raise ValidationFailed(f"human_overseer: no user named {ask.human_overseer!r}")
    return overseer


def _checks_run(release: ReleaseRequest, pinned_versions: list[DatasetVersion]) -> list[CheckResult]:
    """Run the policy's checks on the new request and record them on it; a failed one rejects it."""
    results = _checks_of(release, pinned_versions)
    failed = [result["name"] for result in results if result["status"] == FAILED]
    release.checks = list(results)
    release.checks_passed = not failed
    if failed:
        release.status = ReleaseStatus.REJECTED
        release.decided_at = release.created_at
        release.decision_reason = f"automated checks failed: {', '.join(failed)}"
    return results


def _checks_of(release: ReleaseRequest, pinned_versions: list[DatasetVersion]) -> list[CheckResult]:
    model_version = release.model_version
    checked_versions = pinned_versions
    if model_version is not None and model_version.run is not None:
        checked_versions = list(model_version.run.inputs.select_related("dataset"))
    return checks_run(
        CheckSubject(
            kind=release.kind,
            risk_level=release.risk_level,
            environment=release.environment,
            dataset_versions=checked_versions,
            model_version=model_version,
            metric_thresholds=release.metric_thresholds,
            dpia_reference=release.dpia_reference,
            human_overseer=release.human_overseer,
        ),
        release.policy_version.checks,
    )


@transaction.atomic
def release_withdraw(*, actor: Actor, release: ReleaseRequest, by: User, reason: str = "") -> ReleaseRequest:
    """The requester takes back a pending or approved request; its grant, if any, is revoked."""
    if by.pk != release.requested_by_id:
        raise PermissionRefused("only the requester can withdraw a release request", code="not_requester")
    now = timezone.now()
    # The request row first (this UPDATE locks it), as grant_claim does.
    changed = ReleaseRequest.objects.filter(pk=release.pk, status__in=OPEN_STATUSES).update(
        status=ReleaseStatus.WITHDRAWN,
        decided_at=now,
        decision_reason=reason or "withdrawn by the requester",
        expires_at=None,
    )
    if not changed:
        release.refresh_from_db()
        raise Conflict(
            f"release {release.pk} is {release.effective_status(now)}; only an open request is withdrawn"
        )
    revoked = grants_revoke(release=release, reason="the request was withdrawn", now=now)
    audit_record(
        actor=actor,
        action=AuditAction.RELEASE_WITHDRAW,
        target=Target.of("release", release.pk),
        data={"grants_revoked": revoked},
    )
    return selectors.release_get(pk=release.pk)
