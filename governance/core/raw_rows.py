"""Model instances from plain SQL, their values converted as the ORM converts them.

For the hottest reads only: there, compiling the ORM's query anew on every request cost several times
what the database spent running it (``make profile``). The statement is written once, as a constant;
each selected column is converted by the same converters the ORM's compiler would apply (the backend's,
then the field's: timestamps from SQLite's text, JSON from its text, UUIDs), and the instance is built
with ``Model.from_db``, so fields not selected are deferred (read on first use), never a wrong default.

    VERSION = Columns(ModelVersion, ("id", "version", "created_at"))
    sql = f"SELECT {VERSION.select('v')} FROM {VERSION.table} v WHERE v.id = %s"
    version = VERSION.instance(cursor.fetchone())
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Model
from django.db.models.fields import AutoFieldMixin

M = TypeVar("M", bound=Model)
Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class Columns(Generic[M]):
    """Some concrete fields of ``model`` (``model`` or ``model_id`` for a foreign key), kept in the
    model's field order: select them with ``select`` and read the values in that order."""

    model: type[M]
    names: tuple[str, ...]
    _converters: dict[str, list[list[tuple[Converter, Any]]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        # ``Model.from_db`` takes a partial row's values in the model's field order, by attribute name.
        order = {f.attname: n for n, f in enumerate(self.model._meta.concrete_fields)}
        attnames = list(dict.fromkeys(self._field(name).attname for name in self.names))  # each once
        object.__setattr__(self, "names", tuple(sorted(attnames, key=order.__getitem__)))

    @property
    def table(self) -> str:
        return connection.ops.quote_name(self.model._meta.db_table)

    def select(self, alias: str) -> str:
        """The select list for these columns of table ``alias``, in order."""
        quote = connection.ops.quote_name
        return ", ".join(f"{alias}.{quote(self._field(name).column)}" for name in self.names)

    def instance(self, values: Sequence[Any]) -> M:
        """An instance from this select list's values (``values`` may run on past it: the rest is
        ignored)."""
        converted = []
        for value, converters in zip(values, self._converters_for_vendor(), strict=False):
            for converter, expression in converters:
                value = converter(value, expression, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, list(self.names), converted)

    def _field(self, name: str) -> Any:
        return next(f for f in self.model._meta.concrete_fields if name in (f.attname, f.name))

    def _converters_for_vendor(self) -> list[list[tuple[Converter, Any]]]:
        found = self._converters.get(connection.vendor)
        if found is None:
            found = []
            for name in self.names:
                column = self._field(name).get_col(self.model._meta.db_table)
                chain = [*connection.ops.get_db_converters(column), *column.get_db_converters(connection)]
                found.append([(converter, column) for converter in chain])
            self._converters[connection.vendor] = found
        return found


@cache
def _insert_statement(model: type[Model], vendor: str) -> tuple[str, list[Any], Any]:
    """``INSERT`` of every concrete column but an automatic primary key (returned instead)."""
    meta = model._meta
    auto = meta.pk if isinstance(meta.pk, AutoFieldMixin) else None
    fields = [field for field in meta.concrete_fields if field is not auto]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    returning = f" RETURNING {quote(str(auto.column))}" if auto is not None else ""
    # Names from the model's metadata; every value is bound.
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values}){returning}"  # noqa: S608
    return sql, fields, auto


def save_values(instance: Model, fields: Sequence[Any]) -> list[Any]:
    """The values of ``fields`` of a new ``instance`` as an INSERT binds them, prepared as ``save()``
    prepares them (``pre_save``, then ``get_db_prep_save``)."""
    return [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]


def insert_row(instance: Model) -> None:
    """Insert a new ``instance`` in one fixed statement, its values prepared as ``save()`` prepares
    them (``pre_save``, ``get_db_prep_save``), and set its automatic primary key.

    Unlike ``save()`` it sends no ``pre_save``/``post_save`` signals: use it only for models nothing
    listens to (tests/governance/test_raw_rows.py checks the ones that use it).
    """
    sql, fields, auto = _insert_statement(type(instance), connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, save_values(instance, fields))
        if auto is not None:
            instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = connection.alias
