"""Writing datasets and their versions: what personal data a dataset holds and who is in each version.

Data categories and purposes are fideslang keys (``user.contact.email``, ``train_ai_system``); a
category from GDPR Art. 9(1) ("special categories of personal data") sets ``special_categories``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any, Final

from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.jcs import canonical_json
from audit.services import Target, audit_record
from governance.core.errors import Conflict, ValidationFailed
from registry import storage
from registry.edges import VERSION_OF, edge_add
from registry.fideslang import FIDESLANG_KEY as FIDESLANG_KEY  # re-exported: callers import it from here
from registry.fideslang import special_category_keys as special_category_keys
from registry.models import Dataset, DatasetSubject, DatasetVersion, Jurisdiction
from registry.models_columns import ColumnCategory
from registry.models_quality import QualityProfile
from registry.quality import ProfileSpec, hidden_columns
from registry.quality_schema import (
    DeclarationError,
    DeclaredColumn,
    declared_schema_check,
    protected_attributes_check,
    target_column_check,
)
from registry.services.archiving import row_archive
from registry.services.common import acting_user_id, check_sha256
from registry.services.dataset_files import detect_format, profile_file

VERSION_NAME: Final = re.compile(r"^[^\s#]{1,200}$")
SUBJECT_BATCH: Final = 5_000


def check_fideslang_keys(keys: Iterable[str], *, field: str, example: str) -> list[str]:
    checked = list(dict.fromkeys(keys))
    for key in checked:
        if not FIDESLANG_KEY.match(key):
            raise ValidationFailed(
                f"{field}: {key!r} is not a fideslang key; use lowercase words joined by dots, e.g. {example}"
            )
    return checked


def _personal_data_checked(
    jurisdictions: Sequence[str],
    data_categories: Sequence[str],
    purposes: Sequence[str],
    *,
    subject_id_column: str,
    personal: bool,
) -> tuple[list[str], list[str]]:
    """A new dataset's jurisdictions, fideslang categories and uses checked; the keys (categories, uses)."""
    unknown = [one for one in jurisdictions if one not in Jurisdiction.values]
    if unknown:
        raise ValidationFailed(
            f"jurisdictions: {', '.join(map(repr, unknown))} unknown; "
            f"choose from {', '.join(Jurisdiction.values)}"
        )
    categories = check_fideslang_keys(data_categories, field="data_categories", example="user.contact.email")
    uses = check_fideslang_keys(purposes, field="purposes", example="train_ai_system")
    if subject_id_column and not personal:
        raise ValidationFailed("subject_id_column: only a dataset holding personal data has data subjects")
    return categories, uses


# long: a dozen keyword-only fields, one per line, each stored and recorded; the checks are helpers
@transaction.atomic
def dataset_create(
    *,
    actor: Actor,
    name: str,
    namespace: str = "default",
    description: str = "",
    holds_personal_data: bool = False,
    subject_id_column: str = "",
    jurisdictions: Sequence[str] = (),
    data_categories: Sequence[str] = (),
    purposes: Sequence[str] = (),
    target_column: str = "",
    declared_schema: Any = (),
    protected_attributes: Any = (),
) -> Dataset:
    """Register a dataset and what personal data it holds, where, and for which purposes; with its
    declarations for the quality profile and the bias examination (``dataset_declarations_check``)."""
    declarations = dataset_declarations_check(
        target_column=target_column,
        declared_schema=list(declared_schema),
        protected_attributes=list(protected_attributes),
    )
    categories, uses = _personal_data_checked(
        jurisdictions,
        data_categories,
        purposes,
        subject_id_column=subject_id_column,
        personal=holds_personal_data,
    )
    if Dataset.objects.filter(namespace=namespace, name=name).exists():
        raise Conflict(f"dataset {namespace}:{name} exists; add a version to it instead")
    special = special_category_keys(categories)
    try:
        with transaction.atomic():
            dataset = Dataset.objects.create(
                namespace=namespace,
                name=name,
                description=description,
                holds_personal_data=holds_personal_data,
                subject_id_column=subject_id_column,
                jurisdictions=list(dict.fromkeys(jurisdictions)),
                data_categories=categories,
                special_categories=bool(special),
                purposes=uses,
                created_at=timezone.now(),
                **declarations,
            )
    except IntegrityError as exc:
        raise Conflict(f"dataset {namespace}:{name} exists; add a version to it instead") from exc
    audit_record(
        actor=actor,
        action=AuditAction.DATASET_CREATE,
        target=Target.of("dataset", dataset.node_id),
        data={
            "holds_personal_data": holds_personal_data,
            "jurisdictions": dataset.jurisdictions,
            "data_categories": categories,
            "special_categories": special,
            "purposes": uses,
            **declarations,
        },
    )
    return dataset


def dataset_declarations_check(**given: Any) -> dict[str, Any]:
    """The quality and bias declarations given (any of ``target_column``, ``declared_schema``,
    ``protected_attributes``), checked; raises ValidationFailed naming the field."""
    checks = {
        "target_column": target_column_check,
        "declared_schema": declared_schema_check,
        "protected_attributes": protected_attributes_check,
    }
    try:
        return {name: checks[name](value) for name, value in given.items()}
    except DeclarationError as exc:
        raise ValidationFailed(str(exc)) from exc


@transaction.atomic
def dataset_declarations_update(*, actor: Actor, dataset: Dataset, **given: Any) -> Dataset:
    """Change what ``dataset`` declares for its quality profile and bias examination (EU AI Act Art.
    10(2)(f), 10(3)): any of ``target_column``, ``declared_schema``, ``protected_attributes``. Versions
    already stored keep the profile computed under the declarations of their day. One
    ``dataset.update`` audit entry."""
    if not given:
        raise ValidationFailed("give target_column, declared_schema or protected_attributes to change")
    declarations = dataset_declarations_check(**given)
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if locked.archived_at is not None:
        raise Conflict(f"dataset {locked} is archived; its declarations stay as they were")
    for name, value in declarations.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(declarations))
    audit_record(
        actor=actor,
        action=AuditAction.DATASET_UPDATE,
        target=Target.of("dataset", locked.node_id),
        data={"declarations": declarations},
    )
    return locked


def quality_spec(dataset: Dataset, subject_id_column: str | None) -> ProfileSpec:
    """What the quality profile of a new version of ``dataset`` is computed under."""
    categories = dict(ColumnCategory.objects.filter(dataset=dataset).values_list("column", "data_categories"))
    return ProfileSpec(
        subject_id_column=subject_id_column or dataset.subject_id_column or None,
        hidden=hidden_columns(
            subject_id_column=subject_id_column or dataset.subject_id_column or None,
            column_categories=categories,
            protected_attributes=dataset.protected_attributes,
        ),
        declared_schema=_stored_schema(dataset),
        target_column=dataset.target_column,
    )


def _stored_schema(dataset: Dataset) -> list[DeclaredColumn]:
    try:
        return declared_schema_check(dataset.declared_schema)
    except DeclarationError as exc:  # stored by a path that did not check it (e.g. a direct import)
        raise ValidationFailed(
            f"dataset {dataset}: {exc}; correct it with PATCH /api/v1/datasets/{dataset.name}"
        ) from exc


def _next_version_name(dataset: Dataset) -> str:
    taken = set(DatasetVersion.objects.filter(dataset=dataset).values_list("version", flat=True))
    number = len(taken) + 1
    while str(number) in taken:
        number += 1
    return str(number)


@transaction.atomic
def dataset_version_create(
    *,
    actor: Actor,
    dataset: Dataset,
    version: str = "",
    uri: str = "",
    sha256: str = "",
    size: int | None = None,
    storage_name: str = "",
    file_format: str = "",
    schema: Sequence[Any] | None = None,
    row_count: int | None = None,
    subject_hashes: Iterable[str] | None = None,
    quality_profile: dict[str, Any] | None = None,
) -> DatasetVersion:
    """Add a version of ``dataset``: a file we stored (``storage_name``) or one referenced by ``uri``.

    1. Lock the dataset row, so concurrent unnamed versions get distinct numbers.
    2. Create the version and, for personal data, one ``DatasetSubject`` per keyed subject hash.
    3. A version read from its file: its quality profile, hashed (SHA-256 of its RFC 8785 JSON).
    4. Edge dataset → version (``version_of``) and one audit entry (counts and digests, never an id).
    """
    check_sha256(sha256, field="sha256")
    if not storage_name and not uri:
        raise ValidationFailed("upload the file (multipart field 'file') or give its uri and sha256")
    if row_count is not None and row_count < 0:
        raise ValidationFailed("row_count: a count is 0 or more")
    if version and not VERSION_NAME.match(version):
        raise ValidationFailed("version: up to 200 characters, without spaces or '#'")
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if locked.archived_at is not None:
        raise Conflict(f"dataset {locked} is archived; it takes no new versions")
    name = version or _next_version_name(locked)
    if DatasetVersion.objects.filter(dataset=locked, version=name).exists():
        raise Conflict(f"dataset {locked} has a version {name!r} already; name the new one differently")
    hashes = sorted(set(subject_hashes)) if subject_hashes is not None else None
    row = DatasetVersion.objects.create(
        dataset=locked,
        version=name,
        sha256=sha256,
        size=size,
        uri=uri,
        storage_name=storage_name,
        file_format=file_format,
        schema=list(schema or []),
        row_count=row_count,
        subject_count=len(hashes) if hashes is not None else None,
        created_by_id=acting_user_id(actor),
        created_at=timezone.now(),
    )
    if hashes:
        DatasetSubject.objects.bulk_create(
            (DatasetSubject(dataset_version=row, subject_hash=value) for value in hashes),
            batch_size=SUBJECT_BATCH,
        )
    profile = _quality_profile_store(row, quality_profile) if quality_profile is not None else None
    edge_add(source=locked.node_id, target=row.node_id, relation=VERSION_OF)
    _record_version_created(actor, row, profile)
    return row


def _quality_profile_store(row: DatasetVersion, profile: dict[str, Any]) -> QualityProfile:
    digest = hashlib.sha256(canonical_json(profile)).hexdigest()
    return QualityProfile.objects.create(
        version=row, profile=profile, sha256=digest, computed_at=timezone.now()
    )


def _record_version_created(actor: Actor, row: DatasetVersion, profile: QualityProfile | None) -> None:
    """One audit entry for a new dataset version: digests and counts, never a subject's id."""
    audit_record(
        actor=actor,
        action=AuditAction.DATASET_VERSION_CREATE,
        target=Target.of("dataset_version", row.node_id),
        data={
            "sha256": row.sha256,
            "size": row.size,
            "stored": bool(row.storage_name),
            "row_count": row.row_count,
            "subject_count": row.subject_count,
            "quality_profile_sha256": profile.sha256 if profile is not None else None,
        },
    )


def dataset_version_upload(
    *, actor: Actor, dataset: Dataset, upload: File, version: str = "", file_format: str = ""
) -> DatasetVersion:
    """Store an uploaded CSV or Parquet file and register it as a version of ``dataset``.

    1. Spool the upload to a temporary file, hashing it as it is written.
    2. Read it in chunks: schema, row count, the quality profile and, for personal data, the keyed
       subject hashes. A bad file (e.g. no subject id column) is refused here, before anything is stored.
    3. Save it content-addressed, then create the version in one transaction; should that fail, a
       file this call stored is removed again.
    """
    fmt = detect_format(upload.name or "", file_format)
    subject_column = dataset.subject_id_column if dataset.holds_personal_data else None
    if dataset.holds_personal_data and not subject_column:
        raise ValidationFailed(
            f"dataset {dataset} holds personal data but names no subject_id_column; without it the "
            "data subjects of an upload cannot be recorded"
        )
    spec = quality_spec(dataset, subject_column)
    with storage.spool(upload) as spooled:
        profile = profile_file(spooled.path, fmt=fmt, subject_id_column=subject_column, quality=spec)
        name, newly_stored = storage.save_spooled(spooled)
    try:
        return dataset_version_create(
            actor=actor,
            dataset=dataset,
            version=version,
            sha256=spooled.sha256,
            size=spooled.size,
            storage_name=name,
            file_format=fmt,
            schema=profile.schema,
            row_count=profile.row_count,
            subject_hashes=profile.subject_hashes,
            quality_profile=profile.quality,
        )
    except Exception:
        if newly_stored:
            storage.discard(name)
        raise


def dataset_version_files_forget(*, versions: Sequence[DatasetVersion]) -> list[str]:
    """Detach the stored file from ``versions`` and delete it once the transaction commits, unless
    another version still points to the same bytes; returns the storage names deleted.

    For the erasure of a data subject's rows (GDPR Art. 17, CCPA §1798.105): the caller has written
    versions without those rows and records the whole step in its own audit entry.
    """
    names = sorted({version.storage_name for version in versions if version.storage_name})
    DatasetVersion.objects.filter(pk__in=[version.pk for version in versions]).update(storage_name="")
    kept = set(DatasetVersion.objects.filter(storage_name__in=names).values_list("storage_name", flat=True))
    removed = [name for name in names if name not in kept]
    for name in removed:
        transaction.on_commit(partial(storage.discard, name))
    return removed


def dataset_archive(*, actor: Actor, dataset: Dataset) -> Dataset:
    """Archive a dataset: it takes no new versions, and nothing that points to it is lost."""
    return row_archive(
        actor=actor,
        row=dataset,
        action=AuditAction.DATASET_ARCHIVE,
        target=Target.of("dataset", dataset.node_id),
        what=f"dataset {dataset.node_id!r}",
    )
