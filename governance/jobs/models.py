"""Jobs: one row per run of an approved release, claimed by a worker with a conditional UPDATE.

A job is the worker's side of a release: queued by ``POST /api/v1/releases/<id>/run`` once a valid
grant exists, then running (stage and percent done, a heartbeat), then succeeded, failed or refused.
The row, not the broker message, is the truth: a duplicated or redelivered message finds the row no
longer queued and does nothing twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"  # a check inside the worker said no: nothing was trained or moved


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.REFUSED)


class ReleaseJob(models.Model):
    release = models.ForeignKey("approvals.ReleaseRequest", on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField(max_length=16)  # train | deploy, as the release
    grant_id = models.UUIDField()
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    stage = models.CharField(max_length=64, default="queued")
    percent = models.PositiveSmallIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=0)
    grant_claimed = models.BooleanField(default=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    queue = models.CharField(max_length=32)
    task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=JobStatus.values), name="job_status_valid"),
            models.CheckConstraint(condition=models.Q(percent__lte=100), name="job_percent_at_most_100"),
            # At most one job per grant: a grant runs once.
            models.UniqueConstraint(fields=["grant_id"], name="job_one_per_grant"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.kind}, {self.status})"

    @property
    def reference(self) -> str:
        return f"job-{self.pk}"
