"""Making and withdrawing release requests.

A request pins the SHA-256 of everything it covers (each dataset version for training, the model
artifact for a deploy), is judged under one policy version, and runs that version's automated checks
at once: a request that fails a check is rejected on the spot, with the results kept for the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts.models import User
from governance.approvals import hashing, rules, selectors
from governance.approvals.automated_checks import FAILED, CheckSubject, checks_run
from governance.approvals.models import (
    OPEN_STATUSES,
    PolicyVersion,
    ReleaseDataset,
    ReleaseKind,
    ReleaseRequest,
    ReleaseStatus,
)
from governance.approvals.services.grants import grants_revoke
from governance.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from governance.jobs.ml import ParameterError, TrainingSpec
from registry.models import DatasetVersion, ModelVersion, RegisteredModel
from registry.selectors import catalog
from registry.services.catalog import DatasetVersionRef, acting_user_id


def _canonical(value: Any, *, field: str) -> None:
    from audit.jcs import canonical_json

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


def _policy_version(*, name: str, kind: str, environment: str, risk_level: str) -> PolicyVersion:
    in_force = selectors.policy_versions_in_force(kind=kind)
    specs = {policy: version.spec() for policy, version in in_force.items()}
    where = f"a {kind} request for environment {environment or '(none)'} at risk level {risk_level}"
    if name:
        if name not in specs or not rules.policy_covers(
            specs[name], kind=kind, environment=environment, risk_level=risk_level
        ):
            raise ValidationFailed(f"policy: {name!r} is not an active policy covering {where}")
        return in_force[name]
    best = rules.most_specific(specs, kind=kind, environment=environment, risk_level=risk_level)
    if not best:
        raise ValidationFailed(f"no active policy covers {where}; ask an administrator for one")
    if len(best) > 1:
        raise ValidationFailed(f"policies {', '.join(best)} all cover {where}; name one in 'policy'")
    return in_force[best[0]]


@transaction.atomic
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
    (``model`` version ``version`` → ``environment``).

    1. Resolve and pin: each dataset version's SHA-256, or the model artifact's.
    2. The risk level is the registered model's; a new model's is declared in the request.
    3. Choose the policy version (the one named, else the most specific active one that covers it).
    4. Hash the request (canonical JSON), store it with its pins, run the checks; a failed check
       rejects it at once.
    """
    requester_id = acting_user_id(actor)
    if kind not in ReleaseKind.values:
        raise ValidationFailed(f"kind: {kind!r} is not a request kind; choose train or deploy")
    try:
        thresholds = rules.thresholds_normalize(metric_thresholds or {}, field="metric_thresholds")
    except rules.PolicyError as exc:
        raise ValidationFailed(str(exc)) from exc
    parameters = dict(parameters or {})
    _canonical(parameters, field="parameters")
    registered = RegisteredModel.objects.filter(name=model).first()
    model_version: ModelVersion | None = None
    pinned_versions: list[DatasetVersion] = []
    if kind == ReleaseKind.TRAIN:
        if version is not None:
            raise ValidationFailed("version: a training request makes a new version; leave version out")
        if not datasets:
            raise ValidationFailed("datasets: name at least one dataset version to train on")
        try:  # what the training job will accept, checked before anyone is asked to sign
            TrainingSpec.from_parameters(parameters)
        except ParameterError as exc:
            raise ValidationFailed(str(exc)) from exc
        pinned_versions = _pinned_dataset_versions(datasets)
    else:
        if datasets or parameters or code_version:
            raise ValidationFailed("datasets, parameters and code_version belong to training requests")
        if version is None or not environment:
            raise ValidationFailed("a deploy request names the model's version and the environment")
        try:
            model_version = catalog.model_version_get(model_name=model, version=version)
        except NotFound as exc:
            raise ValidationFailed(f"version: {exc.detail}") from exc
        if model_version.archived_at is not None:
            raise Conflict(f"{model_version.node_id} is archived; it is not deployed")
        if not model_version.artifact_sha256:
            raise ValidationFailed(f"{model_version.node_id} has no artifact SHA-256, so it cannot be pinned")
    if environment and not rules.ENVIRONMENT.match(environment):
        raise ValidationFailed(f"environment: {environment!r} is not an environment name")
    if registered is not None:
        if registered.archived_at is not None:
            raise Conflict(f"model {model!r} is archived")
        if risk_level and risk_level != registered.risk_level:
            raise ValidationFailed(
                f"risk_level: model {model!r} is registered as {registered.risk_level}; "
                "change the model's risk level, not the request's"
            )
        risk_level = registered.risk_level
    elif not risk_level:
        raise ValidationFailed(f"risk_level: model {model!r} is not registered yet; declare its risk level")
    if risk_level not in rules.RISK_LEVELS:
        raise ValidationFailed(f"risk_level: {risk_level!r} is not one of {', '.join(rules.RISK_LEVELS)}")
    overseer = None
    if human_overseer:
        overseer = User.objects.filter(username=human_overseer).first()
        if overseer is None:
            raise ValidationFailed(f"human_overseer: no user named {human_overseer!r}")
    policy_version = _policy_version(name=policy, kind=kind, environment=environment, risk_level=risk_level)

    release = ReleaseRequest(
        kind=kind,
        policy_version=policy_version,
        requested_by_id=requester_id,
        environment=environment,
        risk_level=risk_level,
        model_name=model,
        model_version=model_version,
        model_sha256=model_version.artifact_sha256 if model_version is not None else "",
        parameters=parameters,
        code_version=code_version,
        metric_thresholds=thresholds,
        dpia_reference=dpia_reference.strip(),
        human_overseer=overseer,
        justification=justification,
        created_at=timezone.now(),
    )
    pins: list[hashing.PinnedHash] = [{"node_id": dv.node_id, "sha256": dv.sha256} for dv in pinned_versions]
    if model_version is not None:
        pins.append({"node_id": model_version.node_id, "sha256": model_version.artifact_sha256})
    release.request_hash = hashing.request_hash(selectors.release_document(release, pins))

    checked_versions = pinned_versions
    if model_version is not None and model_version.run is not None:
        checked_versions = list(model_version.run.inputs.select_related("dataset"))
    results = checks_run(
        CheckSubject(
            kind=kind,
            risk_level=risk_level,
            environment=environment,
            dataset_versions=checked_versions,
            model_version=model_version,
            metric_thresholds=thresholds,
            dpia_reference=release.dpia_reference,
            human_overseer=overseer,
        ),
        policy_version.checks,
    )
    failed = [result["name"] for result in results if result["status"] == FAILED]
    release.checks = list(results)
    release.checks_passed = not failed
    if failed:
        release.status = ReleaseStatus.REJECTED
        release.decided_at = release.created_at
        release.decision_reason = f"automated checks failed: {', '.join(failed)}"
    release.save()
    ReleaseDataset.objects.bulk_create(
        ReleaseDataset(release=release, dataset_version=dv, node_id=dv.node_id, sha256=dv.sha256)
        for dv in pinned_versions
    )
    audit_record(
        actor=actor,
        action=AuditAction.RELEASE_CREATE,
        target=Target.of("release", release.pk),
        data={
            "kind": kind,
            "request_hash": release.request_hash,
            "pinned": sorted(pins, key=lambda pin: pin["node_id"]),
            "policy": {"name": policy_version.policy.name, "version": policy_version.version},
            "status": release.status,
            "checks": {result["name"]: result["status"] for result in results},
        },
    )
    return release


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
