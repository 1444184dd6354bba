"""People and an erasure for the console's workflow tests: a model trained on ten people's data serving
production, and an erasure request of one of them received after it was deployed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.utils import timezone

from audit.actors import Actor
from governance.consent.models import PrivacyRequest
from governance.consent.services.requests import privacy_request_create
from governance.consent.subjects import subject_hash_of
from governance.jobs.models import ReleaseJob
from registry.models import DatasetVersion, Deployment, ModelVersion, TrainingRun
from tests.consent.factories import customers_csv, personal_dataset, raw_id, trained_and_deployed, upload

PASSWORD = "officer-password-7Q"


@dataclass
class Erasure:
    version: DatasetVersion
    model_version: ModelVersion
    deployment: Deployment
    request: PrivacyRequest


def erasure_story(scientist: Any, officer: Any, *, subject: int = 4) -> Erasure:
    """Ten people's data → a model serving production → the erasure request of person ``subject``."""
    actor = Actor.for_user(scientist)
    version = upload(actor, personal_dataset(actor), customers_csv(range(10), rows_each=3))
    model_version, deployment = trained_and_deployed(actor, version)
    request = privacy_request_create(
        actor=Actor.for_user(officer),
        subject_hash=subject_hash_of(raw_id(subject)),
        request_type="erasure",
        jurisdiction="eu_eea",
    )
    return Erasure(version, model_version, deployment, request)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def job_row(release: Any, *, status: str, result: dict[str, Any] | None = None, error: str = "") -> Any:
    """A finished job of ``release`` as the worker leaves it (the runner itself is tested in tests/jobs)."""
    now = timezone.now()
    return ReleaseJob.objects.create(
        release=release,
        kind=release.kind,
        grant_id=uuid.uuid4(),
        status=status,
        stage="done" if status == "succeeded" else "claim",
        percent=100 if status == "succeeded" else 0,
        requested_by=release.requested_by,
        queue="training",
        created_at=now,
        started_at=now,
        finished_at=now,
        error=error,
        result=result or {},
    )


def trained_run(owner: Any, manifests: list[dict[str, Any]]) -> Any:
    """The training run a job recorded, with the consent manifests it applied as its ``consent`` facet."""
    return TrainingRun.objects.create(
        run_id=uuid.uuid4(),
        started_by=owner,
        code_version="git:abc123",
        parameters={},
        metrics={},
        facets={"consent": manifests},
        started_at=timezone.now(),
        created_at=timezone.now(),
    )
