"""People and an erasure for the console's workflow tests: a model trained on ten people's data serving
production, and an erasure request of one of them received after it was deployed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.test import Client

from audit.actors import Actor
from governance.consent.models import PrivacyRequest
from governance.consent.services.requests import privacy_request_create
from governance.consent.subjects import subject_hash_of
from registry.models import DatasetVersion, Deployment, ModelVersion
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
