"""Rows for the console list tests: a catalog of many models, datasets, runs and deployments, written
straight to the tables (these tests are about reading them), and signed-in page clients per role."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import Client

from registry.models import Dataset, DatasetVersion, Deployment, ModelVersion, RegisteredModel, TrainingRun

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ROLES = ("data_scientist", "compliance_officer", "auditor", "pipeline", "admin")


def page_client(make_user: Any, role: str, username: str = "") -> Client:
    client = Client()
    client.force_login(make_user(username or f"page-{role}", role))
    return client


def page_clients(make_user: Any) -> dict[str, Client]:
    """A signed-in client per role, and ``anonymous``."""
    clients = {role: page_client(make_user, role) for role in ROLES}
    clients["anonymous"] = Client()
    return clients


def answers(clients: dict[str, Client], path: str, method: str = "get") -> dict[str, int]:
    return {who: getattr(client, method)(path).status_code for who, client in clients.items()}


def catalog(owner: Any, count: int, *, prefix: str = "m") -> list[ModelVersion]:
    """``count`` models, each with one version made by one run from a two-version dataset, serving
    in staging (every other one also ended in production before)."""
    made = []
    for n in range(count):
        stamp = T0 + timedelta(hours=n)
        dataset = Dataset.objects.create(
            namespace="warehouse",
            name=f"{prefix}-table-{n:03d}",
            holds_personal_data=n % 2 == 0,
            jurisdictions=["eu_eea"],
            created_at=stamp,
        )
        versions = [
            DatasetVersion.objects.create(
                dataset=dataset,
                version=f"v{k}",
                sha256=hashlib.sha256(f"{prefix}{n}v{k}".encode()).hexdigest(),
                row_count=100 * k,
                created_by=owner,
                created_at=stamp + timedelta(minutes=k),
            )
            for k in (1, 2)
        ]
        run = TrainingRun.objects.create(
            run_id=uuid.uuid4(), started_by=owner, started_at=stamp, ended_at=stamp, created_at=stamp
        )
        run.inputs.set(versions)
        model = RegisteredModel.objects.create(
            name=f"{prefix}-model-{n:03d}",
            owner=owner,
            risk_level=("minimal", "limited", "high")[n % 3],
            intended_use=f"use {n}",
            created_at=stamp,
        )
        version = ModelVersion.objects.create(
            model=model, version=1, run=run, created_by=owner, created_at=stamp + timedelta(minutes=5)
        )
        if n % 2:
            Deployment.objects.create(
                model_version=version,
                environment="production",
                deployed_by=owner,
                deployed_at=stamp + timedelta(minutes=10),
                until=stamp + timedelta(minutes=20),
            )
        Deployment.objects.create(
            model_version=version,
            environment="staging",
            deployed_by=owner,
            deployed_at=stamp + timedelta(minutes=30),
        )
        made.append(version)
    return made
