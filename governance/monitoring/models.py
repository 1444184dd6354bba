"""Monitoring data: reference profiles, the prediction log, labels, drift checks, webhook deliveries.

The prediction log holds bin indices, never raw feature values: column ``fN`` is the bin of the
profile's N-th feature (``profiles.MAX_FEATURES`` columns), so a drift check is one GROUP BY per
feature in SQL. Profiles and checks are written once and never changed; every write goes through
``governance.monitoring.services``.
"""

from __future__ import annotations

import uuid

from django.db import models

from governance.monitoring.profiles import MAX_FEATURES


class ReferenceProfile(models.Model):
    """What the training data and the model's predictions on it looked like (``profiles.Profile``)."""

    model_version = models.OneToOneField(
        "registry.ModelVersion", on_delete=models.PROTECT, related_name="reference_profile"
    )
    profile = models.JSONField()
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"profile of {self.model_version}"


class PredictionLog(models.Model):
    """One served prediction, its features reduced to reference bins (no raw values)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    deployment = models.ForeignKey("registry.Deployment", on_delete=models.PROTECT, related_name="+")
    model_version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="+")
    served_at = models.DateTimeField()
    prediction = models.JSONField()
    prediction_bin = models.SmallIntegerField()
    # f0 ... f31: one bin column per profiled feature (the class namespace is a plain dict here).
    locals().update({f"f{n}": models.SmallIntegerField(null=True) for n in range(MAX_FEATURES)})

    class Meta:
        indexes = [models.Index(fields=["deployment", "served_at"], name="prediction_log_dep_time")]

    def __str__(self) -> str:
        return f"prediction {self.id}"


BIN_COLUMNS = [f"f{n}" for n in range(MAX_FEATURES)]


class PredictionLabel(models.Model):
    """The ground truth for a logged prediction, posted later; ``correct`` compares it once, on arrival."""

    prediction = models.OneToOneField(
        PredictionLog, on_delete=models.PROTECT, primary_key=True, related_name="label"
    )
    label = models.JSONField()
    correct = models.BooleanField()
    labelled_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"label of {self.prediction_id}"


class DriftCheck(models.Model):
    """One drift check of a deployment over the predictions served in ``[window_start, window_end)``."""

    deployment = models.ForeignKey("registry.Deployment", on_delete=models.PROTECT, related_name="+")
    model_version = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="+")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    samples = models.PositiveIntegerField()
    result = models.JSONField()  # drift.CheckResult
    conclusive = models.BooleanField(default=False)  # enough predictions to judge (thresholds min_samples)
    alarm = models.BooleanField(default=False)
    retraining_release = models.ForeignKey(
        "approvals.ReleaseRequest", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checked_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["deployment", "created_at"]
        indexes = [models.Index(fields=["deployment", "created_at"], name="drift_check_dep_time")]

    def __str__(self) -> str:
        return f"drift check {self.pk} of deployment {self.deployment_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """A drift alarm sent to one webhook URL; each attempt (status, error, backoff) is in ``attempts``."""

    drift_check = models.ForeignKey(DriftCheck, on_delete=models.PROTECT, related_name="deliveries")
    url = models.URLField(max_length=1000)
    body = models.TextField()
    signature = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.JSONField(default=list)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values), name="webhook_delivery_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"webhook {self.pk} to {self.url}"
