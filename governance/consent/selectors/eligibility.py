"""The training-data filter: for a dataset version and a purpose, the rows that may be used.

A row may be used when its subject has a grant (consent or another lawful basis recorded for the
purpose) in force at the moment asked about, and no withdrawal, opt-out, objection, or pending or done
erasure; in a dataset holding special categories (GDPR Art. 9), not when the subject limited the use of
sensitive information. The rules are ``governance.consent.eligibility``'s; this module loads the file
and the states. The training job (``eligible_rows``) and approval checks call it; the manifest is what
a training run stores to prove which rows it used.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from django.core.files.storage import default_storage
from django.utils import timezone

from audit.services import format_timestamp
from governance.consent.eligibility import (
    EligibilityManifest,
    RowVerdict,
    build_manifest,
    effective_state,
    factorize_ids,
    judge_rows,
    purpose_and_ancestors,
    subject_reason,
)
from governance.consent.selectors.ledger import dataset_version_states, erased_subjects
from governance.consent.subjects import SUBJECT_DOMAIN
from governance.core.csv_guard import CsvLineGuard
from governance.core.errors import Conflict, ValidationFailed
from governance.core.pseudonyms import keyed_hash
from registry.models import DatasetVersion
from registry.parquet_guard import parquet_batches, parquet_schema
from registry.services.datasets import FIDESLANG_KEY, special_category_keys


def _check(dataset_version: DatasetVersion, purpose: str, at: datetime | None) -> None:
    if not FIDESLANG_KEY.match(purpose):
        raise ValidationFailed("purpose: a fideslang data use such as train_ai_system")
    if at is not None and at.tzinfo is None:
        raise ValidationFailed("at: give a time with a UTC offset")
    if not dataset_version.storage_name:
        raise Conflict(
            f"{dataset_version.node_id} is not stored here (it is referenced by uri, or its file was "
            "erased); the consent filter reads the rows of a stored file: upload it as a version"
        )


def _read(handle: Any, dataset_version: DatasetVersion, columns: list[str] | None) -> pd.DataFrame:
    """The file through the guarded readers (within the MAX_PARQUET_* and MAX_CSV_LINE_BYTES limits)."""
    if dataset_version.file_format == "parquet":
        batches = list(parquet_batches(handle, columns=columns))
        if not batches:
            handle.seek(0)
            schema = parquet_schema(handle)
            return schema.empty_table().select(columns or schema.names).to_pandas()
        return pa.Table.from_batches(batches).to_pandas()
    subject_column = dataset_version.dataset.subject_id_column
    return pd.read_csv(
        CsvLineGuard(handle), usecols=columns, dtype={subject_column: str} if subject_column else None
    )


def _load(
    dataset_version: DatasetVersion, columns: list[str] | None, source: Path | str | None
) -> pd.DataFrame:
    try:
        if source is not None:
            with Path(source).open("rb") as handle:
                return _read(handle, dataset_version, columns)
        with default_storage.open(dataset_version.storage_name, "rb") as handle:
            return _read(handle, dataset_version, columns)
    except FileNotFoundError as exc:
        raise Conflict(
            f"the stored file of {dataset_version.node_id} is gone (its rows were erased into a new "
            "version); use the newer version"
        ) from exc


def _judge(
    dataset_version: DatasetVersion, frame: pd.DataFrame, purpose: str, at: datetime | None
) -> tuple[RowVerdict, np.ndarray, list[str]]:
    """The verdict for every row, with each row's subject code and the subjects' keyed hashes."""
    dataset = dataset_version.dataset
    if not (dataset.holds_personal_data and dataset.subject_id_column):
        # No personal data: no data subject's choice applies, every row may be used.
        return RowVerdict.everyone(len(frame)), np.full(len(frame), -1), []
    if dataset.subject_id_column not in frame.columns:
        raise Conflict(
            f"the stored file of {dataset_version.node_id} has no column {dataset.subject_id_column!r}"
        )
    codes, ids = factorize_ids(frame[dataset.subject_id_column])
    hashes = [keyed_hash(one, domain=SUBJECT_DOMAIN) for one in ids]
    del ids  # raw ids go no further than this line
    purposes = purpose_and_ancestors(purpose)
    states = dataset_version_states(dataset_version=dataset_version, purposes=purposes, at=at)
    erased = erased_subjects(dataset_version=dataset_version, at=at)
    sensitive = dataset.special_categories
    reasons = {
        subject: subject_reason(
            effective_state(states.get(subject, {}), purpose), erased=subject in erased, sensitive=sensitive
        )
        for subject in states.keys() | erased
    }
    return judge_rows(codes, hashes, reasons), codes, hashes


def _manifest(
    dataset_version: DatasetVersion, verdict: RowVerdict, purpose: str, at: datetime | None
) -> EligibilityManifest:
    return build_manifest(
        verdict,
        dataset_version=dataset_version.node_id,
        dataset_sha256=dataset_version.sha256,
        purpose=purpose,
        as_of=format_timestamp(at or timezone.now()),
        special_categories=special_category_keys(dataset_version.dataset.data_categories),
    )


def eligibility_manifest(
    *,
    dataset_version: DatasetVersion,
    purpose: str,
    at: datetime | None = None,
    source: Path | str | None = None,
) -> EligibilityManifest:
    """How many rows and subjects of ``dataset_version`` may be used for ``purpose`` (now, or at
    ``at``), how many may not and why, and the SHA-256 of the included subjects. Reads only the
    subject id column of the stored file (or of ``source``: a local copy of its bytes the caller has
    checked against the version's SHA-256)."""
    _check(dataset_version, purpose, at)
    column = dataset_version.dataset.subject_id_column
    personal = dataset_version.dataset.holds_personal_data and column
    frame = _load(dataset_version, [column] if personal else None, source)
    verdict, _, _ = _judge(dataset_version, frame, purpose, at)
    return _manifest(dataset_version, verdict, purpose, at)


def eligible_rows(
    *,
    dataset_version: DatasetVersion,
    purpose: str,
    at: datetime | None = None,
    source: Path | str | None = None,
) -> tuple[pd.DataFrame, EligibilityManifest]:
    """The rows of the stored file (or of ``source``, a verified local copy of its bytes) that may be
    used for ``purpose``, with the manifest saying so.

    The subject id column comes back as keyed hashes (what every other record of the subject uses),
    so a model never sees the raw ids.
    """
    _check(dataset_version, purpose, at)
    frame = _load(dataset_version, None, source)
    verdict, codes, hashes = _judge(dataset_version, frame, purpose, at)
    column = dataset_version.dataset.subject_id_column
    if column and column in frame.columns:
        frame[column] = np.array([*hashes, None], dtype=object)[codes]
    return frame.loc[verdict.included].reset_index(drop=True), _manifest(
        dataset_version, verdict, purpose, at
    )
