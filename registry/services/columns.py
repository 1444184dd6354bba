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

from django.db import connection, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import ValidationFailed
from registry.fideslang import FIDESLANG_KEY, special_category_keys
from registry.models import Dataset, DatasetVersion, TrainingRun
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


# The versions linked to a run, both sides in one round trip, oldest first.
_RUN_VERSIONS_SQL = (
    " UNION ALL ".join(
        f"SELECT '{side}', v.id, d.namespace, d.name, v.version, v.created_at "  # noqa: S608 - constant names
        f"FROM registry_trainingrun_{table} l JOIN registry_trainingrun r ON r.id = l.trainingrun_id "
        "JOIN registry_datasetversion v ON v.id = l.datasetversion_id "
        "JOIN registry_dataset d ON d.id = v.dataset_id WHERE r.run_id = %s"
        for side, table in (("input", "inputs"), ("output", "outputs"))
    )
    + " ORDER BY 6, 2"
)


def _resolve_versions(columns: Sequence[DatasetColumns], plan: LineagePlan) -> VersionIds:
    """The dataset version each described dataset is: for a run, the versions linked to it (as
    input or output) after the plan was applied, the plan's own version when it names one of them,
    else the newest; for a DatasetEvent, the version its facet names."""
    found: VersionIds = {}
    if plan.run is not None:
        planned = {("input", *key[:2]): key[2] for key in plan.inputs}
        planned |= {("output", *key[:2]): key[2] for key in plan.outputs}
        chosen: dict[tuple[str, str, str], str] = {}
        run_id = TrainingRun._meta.get_field("run_id").get_db_prep_value(plan.run.run_id, connection)
        with connection.cursor() as cursor:
            cursor.execute(_RUN_VERSIONS_SQL, [run_id, run_id])
            for side, pk, namespace, name, version, _ in cursor.fetchall():
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
    """Insert the fields not stored yet, in one statement per ``BATCH``: a stored field named before
    only by column lineage (no type) takes the schema's type, description and position in the same
    statement (ON CONFLICT DO UPDATE ... WHERE, PostgreSQL and SQLite). Categories the producer tags
    a stored field with now are merged in after (only when the event tags columns)."""
    meta = DatasetField._meta
    names = ["version", "name", "type", "description", "data_categories", "position", "created_at"]
    by_name = {column.name: column for column in meta.concrete_fields}
    columns = [by_name[name] for name in names]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    filled = ", ".join(
        f"{quote(name)} = excluded.{quote(name)}" for name in ("type", "description", "position")
    )
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    keys = list(fields)
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        params = [
            column.get_db_prep_save(value, connection)
            for key in chunk
            for column, value in zip(columns, _field_values(key, fields[key], now), strict=True)
        ]
        sql = (
            f"INSERT INTO {table} ({', '.join(quote(str(column.column)) for column in columns)}) "  # noqa: S608 - names from the model, values bound
            f"VALUES {', '.join([one] * len(chunk))} ON CONFLICT (version_id, name) DO UPDATE SET {filled} "
            f"WHERE {table}.type = '' AND excluded.type <> ''"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    tagged = [key for key in keys if fields[key].categories]
    if tagged:
        _categories_merge(tagged, fields)


def _field_values(key: tuple[int, str], spec: FieldSpec, now: Any) -> tuple[Any, ...]:
    return (key[0], spec.name, spec.type, spec.description, list(spec.categories), spec.position, now)


def _categories_merge(keys: list[tuple[int, str]], fields: Mapping[tuple[int, str], FieldSpec]) -> None:
    """Add the categories the producer tags stored fields with now to those they hold."""
    wanted = set(keys)
    stored = DatasetField.objects.filter(
        version_id__in={key[0] for key in keys}, name__in={key[1] for key in keys}
    ).values_list("pk", "version_id", "name", "data_categories")
    for pk, version_id, name, categories in stored:
        if (version_id, name) not in wanted:
            continue
        merged = list(dict.fromkeys([*categories, *fields[(version_id, name)].categories]))
        if merged != categories:
            DatasetField.objects.filter(pk=pk).update(data_categories=merged)


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
