"""Monitoring writes: reference profiles, labels, drift checks (each with its one audit entry)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import Conflict, NotFound, ValidationFailed
from governance.monitoring import drift, profiles, selectors
from governance.monitoring.alarms import alarm_raise
from governance.monitoring.models import DriftCheck, PredictionLabel, PredictionLog, ReferenceProfile
from registry.models import Deployment, ModelVersion

MAX_LABELS = 10_000


@transaction.atomic
def profile_create(
    *,
    actor: Actor,
    model_version: ModelVersion,
    frame: pd.DataFrame,
    predictions: Sequence[Any],
    classes: Sequence[Any],
) -> ReferenceProfile:
    """Store the reference profile of the rows a model version was trained and evaluated on."""
    profile = profiles.profile_build(frame, model_version.input_schema, predictions, classes)
    stored = ReferenceProfile.objects.create(
        model_version=model_version, profile=profile, created_at=timezone.now()
    )
    audit_record(
        actor=actor,
        action=AuditAction.MONITORING_PROFILE_CREATE,
        target=Target.of("model_version", model_version.node_id),
        data={"rows": profile["rows"], "features": [feature["name"] for feature in profile["features"]]},
    )
    return stored


@transaction.atomic
def labels_record(*, actor: Actor, deployment: Deployment, labels: Sequence[Mapping[str, Any]]) -> int:
    """Record ground truth for logged predictions of ``deployment``: ``[{prediction_id, label}]``.

    A label is given once (a second one for the same prediction is refused), and whether the prediction
    was right is decided on arrival, so accuracy over time is a count in SQL.
    """
    if not labels:
        raise ValidationFailed("labels: send a non-empty list of {prediction_id, label}")
    if len(labels) > MAX_LABELS:
        raise ValidationFailed(f"labels: at most {MAX_LABELS} per request")
    wanted: dict[uuid.UUID, Any] = {}
    for index, item in enumerate(labels):
        try:
            key = uuid.UUID(str(item.get("prediction_id")))
        except ValueError as exc:
            raise ValidationFailed(f"labels[{index}].prediction_id: not a prediction id") from exc
        if "label" not in item or item["label"] is None:
            raise ValidationFailed(f"labels[{index}].label: give the true label")
        if key in wanted:
            raise ValidationFailed(f"labels[{index}].prediction_id: {key} is listed twice")
        wanted[key] = item["label"]
    logged = dict(
        PredictionLog.objects.filter(
            pk__in=wanted,
            deployment__environment=deployment.environment,
            deployment__model_version__model_id=deployment.model_version.model_id,
        ).values_list("pk", "prediction")
    )
    unknown = [str(key) for key in wanted if key not in logged]
    if unknown:
        raise NotFound(f"no logged prediction of {deployment.node_id} with id(s) {', '.join(unknown[:5])}")
    already = list(PredictionLabel.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    if already:
        raise Conflict(f"prediction(s) {', '.join(map(str, already[:5]))} already have a label")
    now = timezone.now()
    PredictionLabel.objects.bulk_create(
        PredictionLabel(prediction_id=key, label=label, correct=label == logged[key], labelled_at=now)
        for key, label in wanted.items()
    )
    audit_record(
        actor=actor,
        action=AuditAction.MONITORING_LABELS_RECORD,
        target=Target.of("deployment", deployment.node_id),
        data={"labels": len(wanted)},
    )
    return len(wanted)


def _window_start(deployment: Deployment) -> datetime:
    """Predictions since the last conclusive check; an inconclusive one (too few predictions) leaves
    its predictions for the next check instead of dropping them."""
    last = (
        DriftCheck.objects.filter(deployment=deployment, conclusive=True)
        .order_by("-window_end")
        .values_list("window_end", flat=True)
        .first()
    )
    return last or deployment.deployed_at


def _window_evaluate(
    deployment: Deployment, profile: profiles.Profile, *, start: datetime, end: datetime
) -> drift.CheckResult:
    """Steps 1-3 after the profile: the approving policy's thresholds, the window's bin counts (in
    SQL) and labels, judged by ``drift.evaluate``."""
    thresholds = selectors.thresholds_for(deployment)
    feature_counts, prediction_counts = selectors.bin_counts(
        deployment=deployment, profile=profile, start=start, end=end
    )
    labelled, correct = selectors.labels_in_window(deployment=deployment, start=start, end=end)
    baseline = deployment.model_version.metrics.get("accuracy")
    return drift.evaluate(
        profile,
        feature_counts=feature_counts,
        prediction_counts=prediction_counts,
        labelled=labelled,
        correct=correct,
        baseline_accuracy=float(baseline) if isinstance(baseline, int | float) else None,
        thresholds=thresholds,
    )


@transaction.atomic
def drift_check_run(*, deployment: Deployment, actor: Actor, now: datetime | None = None) -> DriftCheck:
    """Check ``deployment`` for drift over the predictions served since its last conclusive check.

    1. Load the version's reference profile and the thresholds of the policy that approved the deploy.
    2. Count, in SQL, the bins the window's predictions fell into; labels that arrived in the window.
    3. PSI and KS (numbers) or chi-squared (categories) per feature, prediction PSI, accuracy drop.
    4. Store and audit the check; a breach raises an alarm (``alarms.alarm_raise``): a retraining
       request waiting for sign-off, a webhook and an e-mail.
    """
    # Serialise checks of one deployment, so two never judge the same window.
    deployment = (
        Deployment.objects.select_for_update().select_related("model_version__model").get(pk=deployment.pk)
    )
    version = deployment.model_version
    stored = ReferenceProfile.objects.filter(model_version=version).first()
    if stored is None:
        raise Conflict(
            f"{version.node_id} has no reference profile (it was trained before monitoring); "
            "retrain it to monitor it",
            code="no_reference_profile",
        )
    end = now or timezone.now()
    start = _window_start(deployment)
    result = _window_evaluate(deployment, stored.profile, start=start, end=end)
    check = DriftCheck.objects.create(
        deployment=deployment,
        model_version=version,
        window_start=start,
        window_end=end,
        samples=result["samples"],
        result=result,
        conclusive=result["enough"],
        alarm=result["alarm"],
        checked_by=f"{actor.type}:{actor.id}",
        created_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action=AuditAction.MONITORING_CHECK,
        target=Target.of("deployment", deployment.node_id),
        data={
            "check": check.pk,
            "model_version": version.node_id,
            "samples": result["samples"],
            "conclusive": result["enough"],
            "alarm": result["alarm"],
            "breaches": result["breaches"],
        },
    )
    if check.alarm:
        alarm_raise(check=check)
    return check
