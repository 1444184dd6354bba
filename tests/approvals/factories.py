"""Rows and requests for the approvals tests: policies, dataset and model versions, API clients."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from audit.actors import Actor
from governance.accounts import services as accounts
from governance.approvals.models import PolicyVersion, ReleaseRequest
from governance.approvals.services.policies import policy_create
from governance.approvals.services.releases import release_create
from registry.models import (
    ArtifactFormat,
    Dataset,
    DatasetVersion,
    MetricsSource,
    ModelVersion,
    RegisteredModel,
)

PASSWORD = "Correct-Horse-Battery-42"
SYSTEM = Actor.system("tests")


def spec(**overrides: Any) -> dict[str, Any]:
    """A one-approver training policy with the threshold check, changed by ``overrides``."""
    return {
        "kind": "train",
        "environment": "*",
        "risk_levels": ["*"],
        "checks": [{"name": "risk_not_prohibited"}, {"name": "metric_thresholds"}],
        "required_approvals": [{"role": "compliance_officer", "count": 1}],
        "approval_validity_seconds": 86_400,
        **overrides,
    }


def make_policy(name: str, **overrides: Any) -> PolicyVersion:
    return policy_create(actor=SYSTEM, name=name, spec=spec(**overrides))


def two_officer_policy(name: str = "two-officers", **overrides: Any) -> PolicyVersion:
    return make_policy(name, required_approvals=[{"role": "compliance_officer", "count": 2}], **overrides)


def dataset_version(
    owner: Any,
    *,
    name: str = "customers",
    version: str = "v1",
    namespace: str = "warehouse",
    personal: bool = False,
) -> DatasetVersion:
    dataset, _ = Dataset.objects.get_or_create(
        namespace=namespace,
        name=name,
        defaults={"holds_personal_data": personal, "created_at": timezone.now()},
    )
    return DatasetVersion.objects.create(
        dataset=dataset,
        version=version,
        sha256=hashlib.sha256(f"{namespace}:{name}#{version}".encode()).hexdigest(),
        row_count=10,
        created_by=owner,
        created_at=timezone.now(),
    )


def model_version(
    owner: Any,
    *,
    name: str = "churn",
    risk_level: str = "minimal",
    metrics: dict[str, Any] | None = None,
    metrics_source: str = MetricsSource.SERVICE,
    deployable: bool = True,
) -> ModelVersion:
    """A model version row; by default as the training job leaves one (an ONNX artifact held and signed by
    the service, metrics it computed). ``deployable=False``: only a reference (``s3://``)."""
    model, _ = RegisteredModel.objects.get_or_create(
        name=name, defaults={"owner": owner, "risk_level": risk_level, "created_at": timezone.now()}
    )
    latest = ModelVersion.objects.filter(model=model).count()
    sha256 = hashlib.sha256(f"{name} {latest + 1}".encode()).hexdigest()
    return ModelVersion.objects.create(
        model=model,
        version=latest + 1,
        artifact_sha256=sha256,
        artifact_size=11,
        artifact_uri="" if deployable else f"s3://models/{name}/{latest + 1}",
        storage_name=f"{sha256}.onnx" if deployable else "",
        artifact_format=ArtifactFormat.ONNX if deployable else ArtifactFormat.REFERENCE,
        signature_storage_name=f"{sha256}.sigstore.json" if deployable else "",
        metrics_source=metrics_source,
        framework="sklearn",
        metrics=metrics if metrics is not None else {"accuracy": 0.93},
        created_by=owner,
        created_at=timezone.now(),
    )


def train_request(requester: Any, version: DatasetVersion, **fields: Any) -> ReleaseRequest:
    body: dict[str, Any] = {
        "kind": "train",
        "model": "churn",
        "risk_level": "minimal",
        "datasets": [
            {"namespace": version.dataset.namespace, "name": version.dataset.name, "version": version.version}
        ],
        "parameters": {"target": "label", "n_estimators": 50},
        "code_version": "git:abc123",
        "metric_thresholds": {"accuracy": 0.8},
        **fields,
    }
    return release_create(actor=Actor.for_user(requester), **body)


def client_for(user: Any) -> APIClient:
    """An API client with a fresh Bearer token of ``user``."""
    _, raw = accounts.token_issue(actor=SYSTEM, user=user, name=f"{user.username}-test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def sign(
    client: APIClient, release_id: int, meaning: str = "approved", password: str = PASSWORD, **extra: Any
) -> Any:
    return client.post(
        f"/api/v1/releases/{release_id}/signatures",
        {"meaning": meaning, "password": password, "comment": extra.pop("comment", "looks right"), **extra},
        format="json",
    )
