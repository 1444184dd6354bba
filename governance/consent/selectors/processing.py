"""Records of processing activities (GDPR Art. 30(1)), generated from what the registry knows.

One record per purpose (fideslang data use) declared by a dataset holding personal data:
- datasets, categories of personal data (Art. 30(1)(c)), special categories (Art. 9), jurisdictions;
- categories of data subjects: the dataset facet ``dataSubjectCategories`` (a list), otherwise the
  people the dataset's subject id column names;
- lawful bases recorded in consent states for the purpose (Art. 6(1));
- recipients (Art. 30(1)(d)): the deployments serving models trained on the datasets, plus the
  dataset facet ``recipients``;
- transfers (Art. 30(1)(e), Chapter V): jurisdictions outside the EU/EEA where datasets of a
  processing that also holds EU/EEA data are kept;
- retention (Art. 30(1)(f)): the dataset facet ``retention``, else "not recorded";
- security measures (Art. 30(1)(g), Art. 32): what this service does for every dataset (constant).
Facets are set by OpenLineage producers on the dataset (``Dataset.facets``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Final, TypedDict

from django.db.models import Count

from governance.consent.models import ConsentState, EventKind
from governance.core.csv_out import csv_text
from registry.models import Dataset, Deployment, ModelVersion
from registry.services.datasets import special_category_keys

SECURITY_MEASURES: Final = (
    "data subjects pseudonymised by keyed HMAC-SHA256 hashes of their ids; raw ids never stored "
    "(Art. 4(5), 32(1)(a))",
    "every change is an entry of an append-only, Ed25519-signed Merkle-tree audit log, verifiable offline",
    "role-based access on every endpoint; API tokens stored as SHA-512 digests",
    "dataset files and model artifacts stored content-addressed by SHA-256",
    "training data filtered by consent and erasure requests before use, with a manifest kept per run",
)
NOT_RECORDED: Final = "not recorded"
CSV_COLUMNS: Final = (
    "purpose",
    "datasets",
    "data_categories",
    "special_categories",
    "data_subject_categories",
    "jurisdictions",
    "lawful_bases",
    "recipients",
    "transfers",
    "retention",
    "security_measures",
    "models",
    "deployments",
)


class ProcessingRecord(TypedDict):
    purpose: str
    datasets: list[str]
    data_categories: list[str]
    special_categories: list[str]
    data_subject_categories: list[str]
    jurisdictions: list[str]
    lawful_bases: dict[str, int]
    recipients: list[str]
    transfers: list[str]
    retention: list[str]
    security_measures: list[str]
    models: list[str]
    deployments: list[str]


def _facet_texts(value: Any) -> list[str]:
    """A facet given as text, a list, or an OpenLineage facet object (``_``-fields are metadata)."""
    if value in (None, "", [], {}):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [text for item in value for text in _facet_texts(item)]
    if isinstance(value, dict):
        for key in ("values", "value", "description"):
            if key in value:
                return _facet_texts(value[key])
        return [f"{key}: {item}" for key, item in sorted(value.items()) if not key.startswith("_")]
    return [str(value)]


def records_of_processing() -> list[ProcessingRecord]:
    """Every purpose a personal-data dataset declares, with what Art. 30(1) asks of its record."""
    datasets = list(Dataset.objects.filter(holds_personal_data=True, archived_at__isnull=True))
    models, serving = _trained_and_serving([dataset.pk for dataset in datasets])
    bases = _lawful_bases()
    by_purpose: dict[str, list[Dataset]] = defaultdict(list)
    for dataset in datasets:
        for purpose in dataset.purposes:
            by_purpose[purpose].append(dataset)
    return [
        _record(purpose, members, models=models, serving=serving, bases=bases.get(purpose, {}))
        for purpose, members in sorted(by_purpose.items())
    ]


def _trained_and_serving(ids: list[int]) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """Per dataset: the model versions trained on it, and the deployments serving one of them now."""
    models: dict[int, set[str]] = defaultdict(set)
    for dataset_id, name, version in (
        ModelVersion.objects.filter(run__inputs__dataset_id__in=ids)
        .values_list("run__inputs__dataset_id", "model__name", "version")
        .distinct()
    ):
        models[dataset_id].add(f"model:{name}#{version}")
    serving: dict[int, set[str]] = defaultdict(set)
    for dataset_id, environment, name in (
        Deployment.objects.filter(until__isnull=True, model_version__run__inputs__dataset_id__in=ids)
        .values_list("model_version__run__inputs__dataset_id", "environment", "model_version__model__name")
        .distinct()
    ):
        serving[dataset_id].add(f"deployment:{environment}:{name}")
    return models, serving


def _lawful_bases() -> dict[str, dict[str, int]]:
    """Per purpose, how many subjects' current grants rest on each lawful basis."""
    bases: dict[str, dict[str, int]] = defaultdict(dict)
    for purpose, basis, count in (
        ConsentState.objects.filter(choice=EventKind.GRANT)
        .values_list("purpose", "lawful_basis")
        .annotate(count=Count("pk"))
        .order_by()
    ):
        bases[purpose][basis] = count
    return bases


def _record(
    purpose: str,
    members: list[Dataset],
    *,
    models: dict[int, set[str]],
    serving: dict[int, set[str]],
    bases: dict[str, int],
) -> ProcessingRecord:
    jurisdictions = sorted({place for one in members for place in one.jurisdictions})
    subjects = sorted(
        {
            text
            for one in members
            for text in _facet_texts(one.facets.get("dataSubjectCategories"))
            or [f"people identified by {one.node_id} column {one.subject_id_column or '(none)'}"]
        }
    )
    return {
        "purpose": purpose,
        "datasets": sorted(one.node_id for one in members),
        "data_categories": sorted({key for one in members for key in one.data_categories}),
        "special_categories": sorted(
            {key for one in members for key in special_category_keys(one.data_categories)}
        ),
        "data_subject_categories": subjects,
        "jurisdictions": jurisdictions,
        "lawful_bases": dict(sorted(bases.items())),
        "recipients": sorted(
            {text for one in members for text in serving[one.pk]}
            | {text for one in members for text in _facet_texts(one.facets.get("recipients"))}
        ),
        "transfers": [place for place in jurisdictions if place != "eu_eea"]
        if "eu_eea" in jurisdictions
        else [],
        "retention": sorted({text for one in members for text in _facet_texts(one.facets.get("retention"))})
        or [NOT_RECORDED],
        "security_measures": list(SECURITY_MEASURES),
        "models": sorted({text for one in members for text in models[one.pk]}),
        "deployments": sorted({text for one in members for text in serving[one.pk]}),
    }


def records_as_csv(records: list[ProcessingRecord]) -> str:
    """The records as CSV for people (facets come from pipelines: cells are neutralised, ``csv_out``)."""
    rows = []
    for record in records:
        row = []
        for column in CSV_COLUMNS:
            value: Any = record[column]
            if isinstance(value, dict):
                value = "; ".join(f"{key}: {count}" for key, count in value.items())
            elif isinstance(value, list):
                value = "; ".join(value)
            row.append(value)
        rows.append(row)
    return csv_text(CSV_COLUMNS, rows, lineterminator="\n")
