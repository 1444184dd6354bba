"""One small world for the console's page tests: a person of each role, a model trained on personal data
serving production, an erasure request that blocks it, a release request waiting for sign-off, a job
refused by the worker, an open drift alarm and a signed audit checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from audit.actors import Actor
from audit.checkpoints import checkpoint_create
from governance.approvals.models import ReleaseRequest
from governance.jobs.models import JobStatus, ReleaseJob
from governance.jobs.services import job_refuse
from governance.monitoring.models import DriftCheck
from tests.approvals.factories import make_policy, train_request
from tests.console.workflow_factories import Erasure, erasure_story, job_row

PASSWORD = "console-password-7Q!x"
PEOPLE = {
    "compliance_officer": ("olivia", "Olivia Officer"),
    "auditor": ("audrey", "Audrey Auditor"),
    "data_scientist": ("dana", "Dana Scientist"),
    "admin": ("ada", "Ada Admin"),
    "pipeline": ("pipe", "Training Pipeline"),
}


@dataclass
class World:
    users: dict[str, Any]
    erasure: Erasure
    waiting: ReleaseRequest
    job: ReleaseJob
    alarm: DriftCheck


def console_world(make_user: Any) -> World:
    users = {
        role: make_user(username, role, password=PASSWORD, full_name=name)
        for role, (username, name) in PEOPLE.items()
    }
    erasure = erasure_story(users["data_scientist"], users["compliance_officer"])
    make_policy("console-train")
    waiting = train_request(users["data_scientist"], erasure.version, justification="monthly retrain")
    job = job_row(waiting, status=JobStatus.QUEUED)
    job_refuse(
        actor=Actor.system("worker"),
        reason="an erasure now affects the pinned data",
        job_id=job.pk,
        check="consent",
    )
    job.refresh_from_db()
    now = timezone.now()
    alarm = DriftCheck.objects.create(
        deployment=erasure.deployment,
        model_version=erasure.model_version,
        window_start=now - timedelta(hours=1),
        window_end=now,
        samples=500,
        result={"features": {}},
        conclusive=True,
        alarm=True,
        checked_by="tests",
        created_at=now,
    )
    checkpoint_create()
    return World(users, erasure, waiting, job, alarm)
