"""A small registry story for report tests: two dataset versions → a run → a model version → two
deployments (staging, then production)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from registry.edges import DEPLOYED_AS, PRODUCED, USED_BY, VERSION_OF, edge_add
from registry.models import Dataset, DatasetVersion, Deployment, ModelVersion, RegisteredModel, TrainingRun

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Story:
    versions: list[DatasetVersion]
    run: TrainingRun
    model_version: ModelVersion
    deployment: Deployment


def build_story(owner: Any) -> Story:
    dataset = Dataset.objects.create(
        namespace="warehouse",
        name="customers",
        holds_personal_data=True,
        subject_id_column="customer_id",
        created_at=T0,
    )
    versions = [
        DatasetVersion.objects.create(
            dataset=dataset,
            version=f"v{n}",
            sha256=hashlib.sha256(f"customers v{n}".encode()).hexdigest(),
            row_count=1000 * n,
            created_by=owner,
            created_at=T0 + timedelta(days=n),
        )
        for n in (1, 2)
    ]
    run = TrainingRun.objects.create(
        run_id=uuid.UUID("11111111-2222-4333-8444-555555555555"),
        started_by=owner,
        code_version="git:abc123",
        parameters={"n_estimators": 100},
        metrics={"accuracy": 0.91},
        started_at=T0 + timedelta(days=3),
        ended_at=T0 + timedelta(days=3, hours=1),
        created_at=T0 + timedelta(days=3),
    )
    run.inputs.set(versions)
    model = RegisteredModel.objects.create(name="churn", owner=owner, risk_level="high", created_at=T0)
    model_version = ModelVersion.objects.create(
        model=model,
        version=1,
        artifact_sha256=hashlib.sha256(b"model bytes").hexdigest(),
        framework="sklearn",
        run=run,
        created_by=owner,
        created_at=T0 + timedelta(days=3, hours=2),
    )
    deployment = Deployment.objects.create(
        model_version=model_version,
        environment="production",
        endpoint="/predict",
        deployed_by=owner,
        deployed_at=T0 + timedelta(days=5),
    )
    for version in versions:
        edge_add(source=dataset.node_id, target=version.node_id, relation=VERSION_OF)
        edge_add(source=version.node_id, target=run.node_id, relation=USED_BY)
    edge_add(source=run.node_id, target=model_version.node_id, relation=PRODUCED)
    edge_add(source=model_version.node_id, target=deployment.node_id, relation=DEPLOYED_AS)
    return Story(versions, run, model_version, deployment)
