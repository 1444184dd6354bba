"""Reads for monitoring: live bin counts (aggregated in SQL), thresholds, the latest results."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, F, OuterRef, Q, Subquery

from governance.approvals.models import Grant
from governance.monitoring import drift
from governance.monitoring.models import DriftCheck, PredictionLabel, PredictionLog, WebhookDelivery
from governance.monitoring.profiles import Profile
from registry.models import Deployment


def bin_counts(
    *, deployment: Deployment, profile: Profile, start: datetime, end: datetime
) -> tuple[list[list[int]], list[int]]:
    """Per profiled feature, how many predictions served in ``[start, end)`` fell into each bin, and
    the same for the predicted classes: one scan with a filtered count per (column, bin), so only
    counts leave the database."""
    sizes = [(f"f{index}", len(feature["labels"])) for index, feature in enumerate(profile["features"])]
    sizes.append(("prediction_bin", len(profile["predictions"]["labels"])))
    aggregates = {
        f"{column}_{value}": Count("pk", filter=Q(**{column: value}))
        for column, size in sizes
        for value in range(size)
    }
    totals = PredictionLog.objects.filter(
        deployment=deployment, served_at__gte=start, served_at__lt=end
    ).aggregate(**aggregates)
    counts = [[totals[f"{column}_{value}"] for value in range(size)] for column, size in sizes]
    return counts[:-1], counts[-1]


def labels_in_window(*, deployment: Deployment, start: datetime, end: datetime) -> tuple[int, int]:
    """Labels that arrived in ``[start, end)`` for this deployment's predictions: (labelled, correct)."""
    totals = PredictionLabel.objects.filter(
        prediction__deployment=deployment, labelled_at__gte=start, labelled_at__lt=end
    ).aggregate(labelled=Count("pk"), correct=Count("pk", filter=Q(correct=True)))
    return totals["labelled"], totals["correct"]


def thresholds_for(deployment: Deployment) -> dict[str, float]:
    """The drift thresholds of the policy version that approved this deployment (its grant names the
    job that deployed it), filled in with the defaults."""
    grant = (
        Grant.objects.select_related("release__policy_version")
        .filter(job_reference=deployment.job_reference)
        .exclude(job_reference="")
        .first()
    )
    declared = grant.release.policy_version.monitoring if grant is not None else {}
    return drift.thresholds_with_defaults(declared)


def checks_latest(*, deployment: Deployment, limit: int = 50) -> list[DriftCheck]:
    """The deployment's latest checks, newest first."""
    return list(DriftCheck.objects.filter(deployment=deployment).order_by("-created_at", "-pk")[:limit])


def deliveries_latest(*, deployment: Deployment, limit: int = 20) -> list[WebhookDelivery]:
    return list(
        WebhookDelivery.objects.filter(drift_check__deployment=deployment).order_by("-created_at", "-pk")[
            :limit
        ]
    )


def serving_deployments() -> list[Deployment]:
    return list(Deployment.objects.select_related("model_version__model").filter(until__isnull=True))


def deployment_any(*, environment: str, model_name: str) -> Deployment | None:
    """The deployment serving, else the latest one (a stopped deployment's history stays readable)."""
    found: Deployment | None = (
        Deployment.objects.select_related("model_version__model")
        .filter(environment=environment, model_version__model__name=model_name)
        .order_by(F("until").asc(nulls_first=True), "-deployed_at")
        .first()
    )
    return found


def alarms_open() -> list[DriftCheck]:
    """Drift alarms still open: each serving deployment whose latest check raised an alarm (oldest
    alarm first). A later check without an alarm, or the deployment stopping, closes it."""
    latest = (
        DriftCheck.objects.filter(deployment_id=OuterRef("deployment_id"))
        .order_by("-created_at", "-pk")
        .values("pk")[:1]
    )
    return list(
        DriftCheck.objects.select_related("deployment", "model_version__model")
        .filter(deployment__until__isnull=True, alarm=True, pk=Subquery(latest))
        .order_by("created_at", "pk")
    )
