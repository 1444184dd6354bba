"""A personal-data dataset with a stored CSV version, consent events, and the lineage a model
trained on it leaves (run → model version → deployment)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.actors import Actor
from governance.consent.models import Method
from governance.consent.services.ledger import EventInput, consent_record
from governance.consent.subjects import subject_hash_of
from registry.models import (
    ArtifactFormat,
    Dataset,
    DatasetVersion,
    Deployment,
    ModelVersion,
    RegisteredModel,
)
from registry.services import catalog, datasets, deployments, model_versions, runs


def raw_id(n: int) -> str:
    """Distinctive external ids, so that a leak is found by a plain substring search."""
    return f"PERSON-{n:05d}-ZQ"


def customers_csv(subjects: Sequence[int], rows_each: int = 5) -> bytes:
    lines = ["customer_id,age,spend,label"]
    for row in range(rows_each):
        lines += [f"{raw_id(n)},{20 + (n + row) % 50},{n * 1.5 + row},{(n + row) % 2}" for n in subjects]
    return ("\n".join(lines) + "\n").encode()


def personal_dataset(
    actor: Actor, name: str = "customers", *, categories: Sequence[str] = ("user.financial",)
) -> Dataset:
    return datasets.dataset_create(
        actor=actor,
        name=name,
        holds_personal_data=True,
        subject_id_column="customer_id",
        jurisdictions=["eu_eea", "california"],
        data_categories=list(categories),
        purposes=["train_ai_system"],
    )


def upload(
    actor: Actor, dataset: Dataset, content: bytes, version: str = "v1", fmt: str = "csv"
) -> DatasetVersion:
    return datasets.dataset_version_upload(
        actor=actor,
        dataset=dataset,
        upload=SimpleUploadedFile(f"{dataset.name}.{fmt}", content),
        version=version,
        file_format=fmt,
    )


def record(
    actor: Actor,
    n: int,
    kind: str,
    *,
    purpose: str = "train_ai_system",
    jurisdiction: str = "eu_eea",
    at: datetime | None = None,
    method: str = Method.API,
) -> Any:
    return consent_record(
        actor=actor,
        event=EventInput(
            subject_hash=subject_hash_of(raw_id(n)),
            purpose=purpose,
            kind=kind,
            jurisdiction=jurisdiction,
            method=method,
            occurred_at=at or timezone.now(),
        ),
    )


def import_csv(lines: Sequence[str]) -> io.BytesIO:
    header = "subject_id,purpose,event,lawful_basis,jurisdiction,occurred_at"
    return io.BytesIO(("\n".join([header, *lines]) + "\n").encode())


def trained_and_deployed(
    actor: Actor, version: DatasetVersion, *, model: str = "churn", environment: str = "production"
) -> tuple[ModelVersion, Deployment]:
    """A run reading ``version``, the model version it produced, and its deployment."""
    run = runs.run_create(
        actor=actor,
        inputs=[
            {"namespace": version.dataset.namespace, "name": version.dataset.name, "version": version.version}
        ],
        code_version="git:abc",
    )
    registered = RegisteredModel.objects.filter(name=model).first() or catalog.model_create(
        actor=actor, name=model
    )
    model_version = model_versions.model_version_create(
        actor=actor,
        model=registered,
        artifact_uri=f"s3://models/{model}.pkl",
        artifact_sha256="c" * 64,
        artifact_size=10,
        run=run,
    )
    # Deployable as the training job leaves a version (an ONNX artifact held and signed by the service);
    # these tests are about consent, so the files themselves are never read.
    ModelVersion.objects.filter(pk=model_version.pk).update(
        artifact_uri="",
        storage_name=f"{'c' * 64}.onnx",
        artifact_format=ArtifactFormat.ONNX,
        signature_storage_name=f"{'c' * 64}.sigstore.json",
    )
    model_version.refresh_from_db()
    deployment = deployments.deployment_create(
        actor=actor, model_version=model_version, environment=environment, endpoint="/predict"
    )
    return model_version, deployment


def audit_since(index: int) -> list[dict[str, Any]]:
    """The audit entries from ``index`` on, parsed."""
    from audit.models import AuditEntry

    return [
        json.loads(text)
        for text in AuditEntry.objects.filter(index__gte=index).values_list("entry", flat=True)
    ]
