"""Which input columns fed a model version, and which of them hold personal or sensitive data.

The walk: model version ← its training run ← the dataset versions the run read (every column of
those, hop 0), then through column lineage upstream (``ColumnLineageEdge``: an output field ← the
input fields it was computed from, across jobs), one hop per step, only from the columns reached.

A column's fideslang categories are those the producer tagged it with (a ``tags`` facet) and those
the dataset registry declares for the column (``ColumnCategory``); *personal* and *sensitive* are
``registry.fideslang``'s. Columns of an uploaded file without a schema facet are the file's profiled
schema (``DatasetVersion.schema``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from django.db.models import Q

from registry.fideslang import personal_keys, special_category_keys
from registry.models import Dataset, DatasetVersion, ModelVersion
from registry.models_columns import ColumnCategory, ColumnLineageEdge, DatasetField

MAX_HOPS: Final = 50  # column lineage steps upstream of the training data
MAX_COLUMNS: Final = 20_000  # columns in one answer; the walk stops adding beyond

ColumnKey = tuple[str, str, str | None, str]  # (namespace, name, version or None if unknown, column)


@dataclass(frozen=True)
class ColumnFeed:
    """The column (or, ``column == ""``, the whole dataset) an input column was used to compute."""

    node: str  # the dataset version's node id
    column: str
    transformation: str  # "DIRECT/IDENTITY", "INDIRECT/FILTER"... ("" when the producer did not say)
    description: str
    masking: bool | None
    target: ColumnKey | None = field(default=None, repr=False)  # the column computed, if one


@dataclass
class InputColumn:
    namespace: str
    name: str
    version: str | None
    column: str
    type: str = ""
    categories: list[str] = field(default_factory=list)
    hops: int = 0  # 0: in data the training run read; n: n column-lineage steps further upstream
    feeds: list[ColumnFeed] = field(default_factory=list)
    # Personal columns upstream this one's value was computed from, unmasked (DIRECT transformations).
    derived_from_personal: list[str] = field(default_factory=list)
    version_id: int | None = field(default=None, repr=False)

    @property
    def node(self) -> str:
        base = f"dataset:{self.namespace}:{self.name}"
        return base if self.version is None else f"{base}#{self.version}"

    @property
    def personal(self) -> bool:
        return bool(personal_keys(self.categories))

    @property
    def sensitive(self) -> bool:
        return bool(special_category_keys(self.categories))


def model_input_columns(model_node_ids: Iterable[str]) -> list[InputColumn]:
    """The input columns behind the model versions named (``model:<name>#<version>``), sensitive ones
    first, then personal ones, then those computed from personal ones, then by hop and name."""
    query = Q()
    for node in model_node_ids:
        name, _, number = node.removeprefix("model:").rpartition("#")
        if node.startswith("model:") and number.isdigit():
            query |= Q(model__name=name, version=int(number))
    if not query:
        return []
    runs = ModelVersion.objects.filter(query, run__isnull=False).values_list("run_id", flat=True)
    direct = list(
        DatasetVersion.objects.filter(consumed_by__in=list(runs)).select_related("dataset").distinct()
    )
    if not direct:
        return []
    columns = _walk(direct)
    _categorise(columns)
    _propagate_personal(columns)
    return sorted(
        columns.values(),
        key=lambda c: (
            not c.sensitive,
            not c.personal,
            not c.derived_from_personal,
            c.hops,
            c.namespace,
            c.name,
            c.version or "",
            c.column,
        ),
    )


def _walk(direct: list[DatasetVersion]) -> dict[ColumnKey, InputColumn]:
    """Every column of the direct versions, then upstream through column edges, hop by hop."""
    names: dict[int, tuple[str, str, str]] = {
        v.pk: (v.dataset.namespace, v.dataset.name, v.version) for v in direct
    }
    columns: dict[ColumnKey, InputColumn] = {}
    stored = _stored_fields([v.pk for v in direct])
    for version in direct:
        namespace, name, number = names[version.pk]
        fields = stored.get(version.pk) or [
            (str(one.get("name", "")), str(one.get("type", "")), [])
            for one in version.schema
            if isinstance(one, dict) and one.get("name")
        ]
        for column, kind, categories in fields:
            columns[(namespace, name, number, column)] = InputColumn(
                namespace, name, number, column, kind, list(categories)
            )
    # version id → the columns reached in it (None: all of them, as for the data the run read)
    frontier: dict[int, set[str] | None] = {v.pk: None for v in direct}
    seen: set[tuple[int, str]] = set()
    for hop in range(1, MAX_HOPS + 1):
        if not frontier or len(columns) >= MAX_COLUMNS:
            break
        frontier = _step(frontier, hop, names, columns, seen)
    return columns


def _step(
    frontier: dict[int, set[str] | None],
    hop: int,
    names: dict[int, tuple[str, str, str]],
    columns: dict[ColumnKey, InputColumn],
    seen: set[tuple[int, str]],
) -> dict[int, set[str] | None]:
    """One hop upstream: the input columns of the frontier's reached columns; the next frontier."""
    edges = list(
        ColumnLineageEdge.objects.filter(output_version_id__in=list(frontier)).select_related(
            "input_version__dataset", "output_version__dataset"
        )
    )
    following: dict[int, set[str] | None] = defaultdict(set)
    for edge in edges:
        reached = frontier[edge.output_version_id]
        if edge.output_field and reached is not None and edge.output_field not in reached:
            continue
        out = edge.output_version
        names.setdefault(out.pk, (out.dataset.namespace, out.dataset.name, out.version))
        source = edge.input_version
        version = source.version if source is not None else None
        key = (edge.input_namespace, edge.input_name, version, edge.input_field)
        entry = columns.get(key)
        if entry is None:
            if len(columns) >= MAX_COLUMNS:
                continue
            entry = columns[key] = InputColumn(*key, hops=hop, version_id=source.pk if source else None)
        kind = "/".join(part for part in (edge.transformation_type, edge.transformation_subtype) if part)
        node = f"dataset:{names[out.pk][0]}:{names[out.pk][1]}#{names[out.pk][2]}"
        target = (*names[out.pk], edge.output_field) if edge.output_field else None
        feed = ColumnFeed(node, edge.output_field, kind, edge.description, edge.masking, target)
        if feed not in entry.feeds:
            entry.feeds.append(feed)
        if source is not None and (source.pk, edge.input_field) not in seen:
            seen.add((source.pk, edge.input_field))
            names.setdefault(source.pk, (source.dataset.namespace, source.dataset.name, source.version))
            reached_there = following[source.pk]
            if reached_there is not None:
                reached_there.add(edge.input_field)
    return dict(following)


def _stored_fields(version_ids: list[int]) -> dict[int, list[tuple[str, str, list[str]]]]:
    found: dict[int, list[tuple[str, str, list[str]]]] = defaultdict(list)
    rows = DatasetField.objects.filter(version_id__in=version_ids).order_by("version_id", "position", "name")
    for version_id, name, kind, categories in rows.values_list(
        "version_id", "name", "type", "data_categories"
    ):
        found[version_id].append((name, kind, list(categories or [])))
    return found


def _categorise(columns: dict[ColumnKey, InputColumn]) -> None:
    """Add the producer's tags on upstream fields and the dataset registry's column categories."""
    upstream = {(c.version_id, c.column): c for c in columns.values() if c.hops and c.version_id is not None}
    if upstream:
        rows = DatasetField.objects.filter(version_id__in={key[0] for key in upstream}).values_list(
            "version_id", "name", "type", "data_categories"
        )
        for version_id, name, kind, categories in rows:
            entry = upstream.get((version_id, name))
            if entry is not None:
                entry.type = entry.type or kind
                entry.categories = list(dict.fromkeys([*entry.categories, *categories]))
    datasets = {(c.namespace, c.name) for c in columns.values()}
    named = Dataset.objects.filter(name__in={key[1] for key in datasets}).values_list(
        "pk", "namespace", "name"
    )
    ids = {pk: (namespace, name) for pk, namespace, name in named if (namespace, name) in datasets}
    declared: dict[tuple[str, str, str], list[str]] = {}
    for dataset_id, column, keys in ColumnCategory.objects.filter(dataset_id__in=list(ids)).values_list(
        "dataset_id", "column", "data_categories"
    ):
        namespace, name = ids[dataset_id]
        declared[(namespace, name, column)] = list(keys)
    for entry in columns.values():
        keys = declared.get((entry.namespace, entry.name, entry.column))
        if keys:
            entry.categories = list(dict.fromkeys([*entry.categories, *keys]))


def _propagate_personal(columns: dict[ColumnKey, InputColumn]) -> None:
    """Mark the columns whose values were computed from personal ones: through DIRECT transformations
    (or ones the producer did not type) that do not mask, from the furthest upstream down."""
    for entry in sorted(columns.values(), key=lambda c: -c.hops):
        sources = [entry.node.removeprefix("dataset:") + " · " + entry.column] if entry.personal else []
        sources += entry.derived_from_personal
        if not sources:
            continue
        for feed in entry.feeds:
            target = columns.get(feed.target) if feed.target else None
            if target is None or feed.masking or feed.transformation.split("/")[0] not in ("DIRECT", ""):
                continue
            target.derived_from_personal = list(dict.fromkeys([*target.derived_from_personal, *sources]))
