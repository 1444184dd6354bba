"""Upserts on the ingestion hot path as plain SQL (PostgreSQL and SQLite): lock the rows that exist,
insert the others, merge facets. Used by the row-by-row lineage writer (the embedded default); on
PostgreSQL one function call does the same (``registry.services.lineage_postgres``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

from governance.core.raw_rows import Columns, save_values
from registry.models import Dataset, DatasetVersion, Job

_Row = TypeVar("_Row", bound=Model)
_FacetRow = TypeVar("_FacetRow", Job, Dataset, DatasetVersion)


def upsert_merging_facets(
    model: type[_FacetRow],
    unique: tuple[str, str],
    wanted: Mapping[tuple[Any, Any], dict[str, Any]],
    new: Callable[[tuple[Any, Any], dict[str, Any]], _FacetRow],
) -> dict[tuple[Any, Any], _FacetRow]:
    """The rows with these keys, created with these facets if new, else with them merged in: facets
    sent now replace those of the same name, facets not sent now are kept (as in Marquez).

    1. Lock the rows that exist, in one SELECT ... FOR UPDATE in key order (concurrent events over
       the same datasets then lock them in the same order).
    2. Insert the others in one INSERT ... ON CONFLICT DO NOTHING.
    3. A row a concurrent transaction inserted between 1 and 2 is locked now and treated as existing,
       so its facets are merged, not overwritten.
    4. Write the facets that changed, in one UPDATE.
    """
    keys = sorted(wanted)
    rows = locked_rows(model, unique, keys, ("facets",))
    missing = {key: new(key, wanted[key]) for key in keys if key not in rows}
    existing = dict(rows)
    if missing:
        inserted = insert_new(model, missing, unique)
        rows.update((key, row) for key, row in missing.items() if key in inserted)
        raced = locked_rows(model, unique, [key for key in missing if key not in inserted], ("facets",))
        rows.update(raced)
        existing.update(raced)
    for key, row in existing.items():
        merged = {**row.facets, **wanted[key]}
        if merged != row.facets:
            row.facets = merged
            update_columns(row, ["facets"])
    return rows


def locked_rows(
    model: type[_Row], unique: tuple[str, ...], keys: list[tuple[Any, ...]], columns: tuple[str, ...]
) -> dict[tuple[Any, ...], _Row]:
    """The rows with these keys that exist, locked FOR UPDATE in key order, loading only ``columns``.

    Raw SQL (row values, on PostgreSQL and SQLite) on this hot path, through a plain cursor: compiling
    the ORM's OR of lookups, and a RawQuerySet's set-up per call, cost more CPU than the database
    spent answering. Values pass the same converters a query would apply.
    """
    if not keys:
        return {}
    meta = model._meta
    fields = {field.attname: field for field in meta.concrete_fields}
    selected = Columns(model, (str(meta.pk.attname), *unique, *columns))  # converts as a query would
    quote = connection.ops.quote_name
    key_columns = ", ".join(quote(str(fields[name].column)) for name in unique)
    one = "(" + ", ".join(["%s"] * len(unique)) + ")"
    params = [
        fields[name].get_db_prep_value(value, connection)
        for key in keys
        for name, value in zip(unique, key, strict=True)
    ]
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {selected.select('t')} FROM {selected.table} t "  # noqa: S608 - as in insert_new
        f"WHERE ({key_columns}) IN ({', '.join([one] * len(keys))}) ORDER BY {key_columns}{lock}"
    )
    found: dict[tuple[Any, ...], _Row] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for values in cursor.fetchall():
            row = selected.instance(values)
            found[tuple(getattr(row, name) for name in unique)] = row
    return found


def update_columns(row: Model, names: list[str]) -> None:
    """``row.save(update_fields=names)`` as one plain UPDATE (the row holds only the columns it loaded)."""
    meta = row._meta
    by_name = {field.name: field for field in meta.concrete_fields}
    fields = [by_name[name] for name in names]
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
    params = [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]
    sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(str(meta.pk.column))} = %s"  # noqa: S608 - as above
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, row.pk])


def insert_new(
    model: type[_Row], rows: Mapping[tuple[Any, ...], _Row], unique: tuple[str, ...]
) -> set[tuple[Any, ...]]:
    """Insert the rows (keyed by their ``unique`` values) in one statement, skipping any whose key is
    taken (ON CONFLICT DO NOTHING, on PostgreSQL and SQLite); returns the keys inserted and sets
    their primary keys.

    Raw SQL: ``bulk_create(ignore_conflicts=True)`` cannot say which rows it inserted nor return
    their ids, which would cost another SELECT per table and event.
    """
    meta = model._meta
    fields = {field.attname: field for field in meta.concrete_fields}
    pk_field = next(field for field in fields.values() if field.primary_key)
    del fields[pk_field.attname]
    quote = connection.ops.quote_name
    params: list[Any] = []
    prepared: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for key, row in rows.items():
        values = dict(zip(fields, save_values(row, list(fields.values())), strict=True))
        params.extend(values.values())
        prepared[tuple(values[name] for name in unique)] = key
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    columns = ", ".join(quote(str(field.column)) for field in fields.values())
    key_columns = ", ".join(quote(str(fields[name].column)) for name in unique)
    returning = ", ".join([quote(str(pk_field.column)), key_columns])
    # Table and column names come from the model; every value is a bound parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {placeholders} "  # noqa: S608
        f"ON CONFLICT ({key_columns}) DO NOTHING RETURNING {returning}"
    )
    inserted: set[tuple[Any, ...]] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for pk, *found in cursor.fetchall():
            key = prepared[tuple(found)]
            row = rows[key]
            row.pk = pk
            row._state.adding = False
            row._state.db = connection.alias
            inserted.add(key)
    return inserted
