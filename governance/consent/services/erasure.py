"""Carrying out an erasure: stored dataset files rewritten without the subject, and the exemptions a
compliance officer decides for model versions that may still be deployed."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Final

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.consent.models import (
    BINDING_STATUSES,
    ERASING_TYPES,
    ErasureExemption,
    ExemptionGround,
    PrivacyRequest,
    RequestStatus,
    RowErasure,
)
from governance.consent.rewrite import rewrite_without_subject
from governance.consent.selectors.erasure import request_affects
from governance.consent.services.requests import text_digest
from governance.core.errors import Conflict, ValidationFailed
from registry.models import DatasetVersion, ModelVersion
from registry.services.common import acting_user_id
from registry.services.datasets import dataset_version_files_forget, dataset_version_upload

ERASABLE_STATUSES: Final = frozenset({RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS})


def _check_erasing(request: PrivacyRequest) -> None:
    if request.type not in ERASING_TYPES:
        raise Conflict(
            f"request {request.pk} is an {request.type} request; only erasure and deletion erase rows"
        )


def _replace(actor: Actor, request: PrivacyRequest, version: DatasetVersion, workdir: Path) -> RowErasure:
    """1. Stream the stored file into a new one without the subject's rows. 2. Register the new file
    as the next version of the dataset through the registry's upload service (hashed, profiled, its
    subject set recorded, audited), unless the dataset is archived. 3. Record the replacement."""
    dataset = version.dataset
    fmt = version.file_format or "csv"
    target = workdir / f"{version.pk}.{fmt}"
    with default_storage.open(version.storage_name, "rb") as source:
        _, removed = rewrite_without_subject(
            source, target, fmt=fmt, column=dataset.subject_id_column, subject_hash=request.subject_hash
        )
    replacement = None
    if dataset.archived_at is None:
        with target.open("rb") as handle:
            replacement = dataset_version_upload(
                actor=actor,
                dataset=dataset,
                upload=File(handle, name=target.name),
                version=f"{version.version[:150]}-erasure-{request.pk}",
                file_format=fmt,
            )
    return RowErasure.objects.create(
        request=request,
        dataset_version=version,
        replacement=replacement,
        rows_removed=removed,
        created_by_id=acting_user_id(actor),
        created_at=timezone.now(),
    )


@transaction.atomic
def privacy_request_erase_rows(*, actor: Actor, request: PrivacyRequest) -> list[RowErasure]:
    """Remove the subject's raw rows from every stored dataset file that holds them (GDPR Art. 17,
    CCPA §1798.105).

    1. Only after the requester's identity is verified (GDPR Art. 12(6)): the request is verified or
       in progress.
    2. Each stored version holding the subject and not yet erased for this request gets a new version
       without the subject's rows (see ``_replace``).
    3. The old versions' files are deleted after the commit (unless other versions share the bytes);
       the old versions stay, with their hashes and subject sets, so lineage and the block on models
       trained on them remain. One audit entry for the step.
    """
    _check_erasing(request)
    if request.status not in ERASABLE_STATUSES:
        raise Conflict(
            f"request {request.pk} is {request.status}; rows are erased once the request is verified "
            "and before it is completed"
        )
    done = RowErasure.objects.filter(request=request).values("dataset_version_id")
    versions = list(
        DatasetVersion.objects.filter(subjects__subject_hash=request.subject_hash)
        .exclude(storage_name="")
        .exclude(pk__in=done)
        .select_related("dataset")
        .order_by("pk")
    )
    with tempfile.TemporaryDirectory(prefix="governance-erasure-") as workdir:
        erasures = [_replace(actor, request, version, Path(workdir)) for version in versions]
    files_removed = dataset_version_files_forget(versions=versions)
    not_stored = sorted(
        version.node_id
        for version in DatasetVersion.objects.filter(
            subjects__subject_hash=request.subject_hash, storage_name="", uri__gt=""
        ).select_related("dataset")
    )
    data: dict[str, Any] = {
        "replaced": [
            {
                "from": erasure.dataset_version.node_id,
                "to": erasure.replacement.node_id if erasure.replacement is not None else None,
                "sha256": erasure.replacement.sha256 if erasure.replacement is not None else None,
                "rows_removed": erasure.rows_removed,
            }
            for erasure in erasures
        ],
        "files_removed": len(files_removed),
        # Referenced by uri only: the file is not ours to rewrite; its owner must erase the rows.
        "external": not_stored,
    }
    audit_record(
        actor=actor,
        action=AuditAction.PRIVACY_REQUEST_ERASE_ROWS,
        target=Target.of("privacy_request", request.pk),
        data=data,
    )
    return erasures


@transaction.atomic
def erasure_exemption_record(
    *, actor: Actor, request: PrivacyRequest, model_version: ModelVersion, ground: str, reason: str
) -> ErasureExemption:
    """A compliance officer's decision that ``model_version`` may be deployed although ``request``
    affects it (e.g. GDPR Art. 17(3)(b): a legal obligation to keep the model). It lifts the deploy
    block for that request and that version only."""
    _check_erasing(request)
    if request.status not in BINDING_STATUSES:
        raise Conflict(f"request {request.pk} was denied; it blocks nothing")
    if ground not in ExemptionGround.values:
        raise ValidationFailed(f"ground: one of {', '.join(ExemptionGround.values)}")
    if not reason.strip():
        raise ValidationFailed("reason: say why the model version may be deployed despite the request")
    if not request_affects(request=request, model_version=model_version):
        raise Conflict(f"{model_version.node_id} is not trained on data of request {request.pk}'s subject")
    try:
        with transaction.atomic():
            exemption = ErasureExemption.objects.create(
                request=request,
                model_version=model_version,
                ground=ground,
                reason=reason.strip(),
                decided_by_id=acting_user_id(actor),
                decided_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise Conflict(f"{model_version.node_id} has an exemption for request {request.pk} already") from exc
    audit_record(
        actor=actor,
        action=AuditAction.ERASURE_EXEMPTION,
        target=Target.of("privacy_request", request.pk),
        data={
            "model_version": model_version.node_id,
            "ground": ground,
            "reason_sha256": text_digest(exemption.reason),
        },
    )
    return exemption
