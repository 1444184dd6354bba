"""Storing columns: the fields of dataset versions and the column edges between them, from an event's
``schema``, ``columnLineage`` and fideslang ``tags`` facets (``registry.openlineage.column_facets``),
and the dataset registry's own per-column categories.

``columns_store`` runs inside ``lineage_event_ingest`` after the event's plan is applied: the versions
the facets describe exist then. Every row has a unique key and is inserted ON CONFLICT DO NOTHING, so
an event sent twice, or a START and a COMPLETE sending the same facets, store each field and edge
once; a replay also adds what an earlier attempt did not store. An event without those facets costs
nothing here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import ValidationFailed
from registry.fideslang import FIDESLANG_KEY, special_category_keys
from registry.models import Dataset, DatasetVersion
from registry.models_columns import ColumnCategory, ColumnLineageEdge, DatasetField
from registry.openlineage.column_facets import MAX_FIELD_NAME, DatasetColumns, EdgeSpec, FieldSpec
from registry.openlineage.plan import LineagePlan
from registry.services.upserts import insert_new

BATCH: Final = 1_000  # rows per INSERT (PostgreSQL binds at most 65,535 parameters per statement)
MAX_DECLARED_COLUMNS: Final = 5_000

VersionIds = dict[tuple[str, str, str], int]  # (side, namespace, name) → dataset version id


def columns_store(columns: Sequence[DatasetColumns], plan: LineagePlan) -> None:
    """Store the fields and column edges ``column_facets`` read from the event whose ``plan`` was
    just applied; nothing for an event without them."""
    if not columns:
        return
    with transaction.atomic():
        versions = _resolve_versions(columns, plan)
        now = timezone.now()
        fields: dict[tuple[int, str], FieldSpec] = {}
        edges: list[ColumnLineageEdge] = []
        for item in columns:
            own = versions.get((item.side, item.namespace, item.name))
            if own is None:
                continue  # a dataset without a version (a DatasetEvent sent none): no columns to hold
            for spec in item.fields:
                fields.setdefault((own, spec.name), spec)
            for edge in item.edges:
                source = versions.get(("input", edge.input_namespace, edge.input_name)) or versions.get(
                    ("output", edge.input_namespace, edge.input_name)
                )
                if edge.output_field:
                    fields.setdefault((own, edge.output_field), FieldSpec(edge.output_field))
                if source is not None:
                    fields.setdefault((source, edge.input_field), FieldSpec(edge.input_field))
                edges.append(_edge_row(own, source, edge, now))
        _fields_store(fields, now)
        for start in range(0, len(edges), BATCH):
            chunk = edges[start : start + BATCH]
            insert_new(ColumnLineageEdge, {(row.key,): row for row in chunk}, ("key",))


def _resolve_versions(columns: Sequence[DatasetColumns], plan: LineagePlan) -> VersionIds:
    """The dataset version each described dataset is: for a run, the versions linked to it (as
    input or output) after the plan was applied, the plan's own version when it names one of them;
    for a DatasetEvent, the version its facet names."""
    found: VersionIds = {}
    if plan.run is not None:
        planned = {("input", *key[:2]): key[2] for key in plan.inputs}
        planned |= {("output", *key[:2]): key[2] for key in plan.outputs}
        chosen: dict[tuple[str, str, str], str] = {}
        for side, query in (
            ("input", Q(consumed_by__run_id=plan.run.run_id)),
            ("output", Q(produced_by__run_id=plan.run.run_id)),
        ):
            rows = (
                DatasetVersion.objects.filter(query)
                .order_by("created_at", "pk")
                .values_list("pk", "dataset__namespace", "dataset__name", "version")
            )
            for pk, namespace, name, version in rows:  # oldest first: the latest wins, unless planned
                key = (side, namespace, name)
                if key not in chosen or chosen[key] != planned.get(key):
                    found[key], chosen[key] = pk, version
        return found
    for item in columns:
        if item.side == "dataset" and item.version is not None:
            one = (
                DatasetVersion.objects.filter(
                    dataset__namespace=item.namespace, dataset__name=item.name, version=item.version
                )
                .values_list("pk", flat=True)
                .first()
            )
            if one is not None:
                found[("dataset", item.namespace, item.name)] = one
    return found


def _edge_row(output: int, source: int | None, edge: EdgeSpec, now: Any) -> ColumnLineageEdge:
    identity = [
        output,
        edge.output_field,
        edge.input_namespace,
        edge.input_name,
        source,
        edge.input_field,
        edge.type,
        edge.subtype,
    ]
    key = hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode()).hexdigest()
    return ColumnLineageEdge(
        output_version_id=output,
        output_field=edge.output_field,
        input_namespace=edge.input_namespace,
        input_name=edge.input_name,
        input_version_id=source,
        input_field=edge.input_field,
        transformation_type=edge.type,
        transformation_subtype=edge.subtype,
        description=edge.description,
        masking=edge.masking,
        key=key,
        created_at=now,
    )


def _fields_store(fields: Mapping[tuple[int, str], FieldSpec], now: Any) -> None:
    """Insert the fields not stored yet; a stored field named before only by column lineage (no
    type) gets the schema's type and description, and any categories the producer adds now."""
    rows = {
        key: DatasetField(
            version_id=key[0],
            name=spec.name,
            type=spec.type,
            description=spec.description,
            data_categories=list(spec.categories),
            position=spec.position,
            created_at=now,
        )
        for key, spec in fields.items()
    }
    keys = list(rows)
    inserted: set[tuple[Any, ...]] = set()
    for start in range(0, len(keys), BATCH):
        chunk = {key: rows[key] for key in keys[start : start + BATCH]}
        inserted |= insert_new(DatasetField, chunk, ("version_id", "name"))
    richer = [key for key in keys if key not in inserted and (fields[key].type or fields[key].categories)]
    if richer:
        _fields_enrich(richer, fields)


def _fields_enrich(keys: list[tuple[int, str]], fields: Mapping[tuple[int, str], FieldSpec]) -> None:
    wanted = set(keys)
    stored = DatasetField.objects.select_for_update().filter(
        version_id__in={key[0] for key in keys}, name__in={key[1] for key in keys}
    )
    for row in stored:
        key = (row.version_id, row.name)
        if key not in wanted:
            continue
        spec = fields[key]
        changed: list[str] = []
        if spec.type and not row.type:
            row.type, row.description, row.position = spec.type, spec.description, spec.position
            changed += ["type", "description", "position"]
        merged = list(dict.fromkeys([*row.data_categories, *spec.categories]))
        if merged != row.data_categories:
            row.data_categories = merged
            changed.append("data_categories")
        if changed:
            row.save(update_fields=changed)


@transaction.atomic
def column_categories_declare(
    *, actor: Actor, dataset: Dataset, columns: Mapping[str, Iterable[str]]
) -> list[ColumnCategory]:
    """The dataset registry's fideslang categories for columns of ``dataset`` (every version): each
    column named is set to exactly the categories given (an empty list clears it). The dataset's own
    ``data_categories`` take in the new keys, so the registry's dataset-level view stays a superset.
    One ``dataset.update`` audit entry."""
    if len(columns) > MAX_DECLARED_COLUMNS:
        raise ValidationFailed(f"columns: at most {MAX_DECLARED_COLUMNS} columns at a time")
    checked: dict[str, list[str]] = {}
    for column, keys in columns.items():
        if not column or len(column) > MAX_FIELD_NAME:
            raise ValidationFailed(f"columns: a column name is 1 to {MAX_FIELD_NAME} characters")
        values = list(dict.fromkeys(keys))
        bad = [key for key in values if not isinstance(key, str) or not FIDESLANG_KEY.match(key)]
        if bad:
            raise ValidationFailed(
                f"columns.{column}: {bad[0]!r} is not a fideslang key; use lowercase words joined by "
                "dots, e.g. user.contact.email"
            )
        checked[column] = values
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    now = timezone.now()
    ColumnCategory.objects.filter(dataset=locked, column__in=list(checked)).delete()  # replaced below
    rows = ColumnCategory.objects.bulk_create(
        ColumnCategory(dataset=locked, column=column, data_categories=keys, declared_at=now)
        for column, keys in checked.items()
        if keys
    )
    added = [key for keys in checked.values() for key in keys if key not in locked.data_categories]
    if added:
        locked.data_categories = list(dict.fromkeys([*locked.data_categories, *added]))
        locked.special_categories = bool(special_category_keys(locked.data_categories))
        locked.save(update_fields=["data_categories", "special_categories"])
    audit_record(
        actor=actor,
        action=AuditAction.DATASET_UPDATE,
        target=Target.of("dataset", locked.node_id),
        data={"column_categories": checked, "data_categories_added": list(dict.fromkeys(added))},
    )
    return rows
