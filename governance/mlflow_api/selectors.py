"""Reads behind the MLflow-compatible API. Archived rows are what MLflow calls deleted: absent here.

Search filters (``filters.filter_parse``) become database conditions, tags included (a JSON key
lookup on PostgreSQL and SQLite alike), so paging is done by the database, not in Python.
``LIKE``/``ILIKE`` become SQL pattern matches (``MlflowLike``), never regular expressions.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Lookup, Prefetch, Q, QuerySet, TextField, prefetch_related_objects
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.sql.compiler import SQLCompiler

from governance.approvals import rules
from governance.approvals.selectors import policy_versions_in_force
from governance.core.errors import NotFound
from governance.core.raw_rows import Columns
from governance.mlflow_api.filters import (
    Clause,
    FilterError,
    OrderBy,
    like_parse,
    like_to_glob,
    like_to_sql,
)
from registry.models import ModelAlias, ModelVersion, RegisteredModel

STAGE_ALIAS_NAMES = frozenset({"production", "staging"})  # the aliases MLflow's stages stand for


class MlflowNotFound(NotFound):
    code = "RESOURCE_DOES_NOT_EXIST"


MAX_VERSION = 2**31 - 1  # the largest value the version column holds on every database


def _versions() -> QuerySet[ModelVersion]:
    return (
        ModelVersion.objects.filter(archived_at__isnull=True, model__archived_at__isnull=True)
        .select_related("model", "mlflow_info", "run")
        .prefetch_related(Prefetch("aliases", queryset=ModelAlias.objects.order_by("alias")))
    )


def _models() -> QuerySet[RegisteredModel]:
    live = _versions().order_by("version")
    return RegisteredModel.objects.filter(archived_at__isnull=True).prefetch_related(
        Prefetch("versions", queryset=live, to_attr="live_versions"),
        _alias_prefetch(),
    )


def _alias_prefetch() -> Prefetch:
    return Prefetch("aliases", queryset=ModelAlias.objects.select_related("version").order_by("alias"))


_MODEL_ROW = Columns(RegisteredModel, tuple(f.attname for f in RegisteredModel._meta.concrete_fields))


@cache
def _model_row_sql(vendor: str) -> str:
    return (
        f"SELECT {_MODEL_ROW.select('m')} FROM {_MODEL_ROW.table} m"  # noqa: S608 - names from the model
        " WHERE m.name = %s AND m.archived_at IS NULL"
    )


def mlflow_model_row(*, name: str) -> RegisteredModel:
    """The live model alone (for writes: no versions loaded). One fixed statement: every version
    registered reads it first, and compiling the ORM's query cost more than running it."""
    with connection.cursor() as cursor:
        cursor.execute(_model_row_sql(connection.vendor), [name])
        found = cursor.fetchone()
    if found is None:
        raise MlflowNotFound(f"Registered Model with name={name} not found")
    return _MODEL_ROW.instance(found)


def mlflow_model_get(*, name: str) -> RegisteredModel:
    """The live model with its aliases and, as ``live_versions``, only the versions that can be latest
    in some stage: those the stage aliases point at and the newest of each stored stage. A constant
    number of queries however many versions the model has (the client reads the model before most calls)."""
    model = mlflow_model_row(name=name)
    prefetch_related_objects([model], _alias_prefetch())
    aliases = list(model.aliases.all())
    staged = [row.version_id for row in aliases if stage_alias(row)]
    live = _versions().filter(model=model)
    candidates = list(live.filter(pk__in=staged))
    unstaged = live.exclude(pk__in=staged).order_by("-version")
    for stored in (
        unstaged.filter(Q(mlflow_info__isnull=True) | Q(mlflow_info__stage="None")),
        unstaged.filter(mlflow_info__stage="Archived"),
    ):
        newest = stored.first()
        if newest is not None:
            candidates.append(newest)
    model.live_versions = sorted(candidates, key=lambda version: version.version)  # type: ignore[attr-defined]
    return model


def mlflow_version_get(*, name: str, version: str) -> ModelVersion:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise MlflowNotFound(f"Model Version (name={name}, version={version}) not found") from None
    # (model, version) is unique: no ORDER BY (``first()`` would add one, and compiling it costs).
    found = list(_versions().filter(model__name=name, version=number)[:1])
    if not found:
        raise MlflowNotFound(f"Model Version (name={name}, version={version}) not found")
    return found[0]


def mlflow_version_by_alias(*, name: str, alias: str) -> ModelVersion:
    row = ModelAlias.objects.filter(model__name=name, alias=alias).first()
    if row is not None:
        found = _versions().filter(pk=row.version_id).first()
        if found is not None:
            return found
    raise MlflowNotFound(f"Registered model alias {alias} not found.")


def version_aliases(version: ModelVersion) -> list[str]:
    """Aliases pointing at a live version (an archived version's aliases read as gone, as in MLflow)."""
    return [row.alias for row in version.aliases.all()]


def policy_governed_names() -> frozenset[str]:
    """The alias names the deploy policies in force govern (``rules.governed_aliases``); handed to the
    registry's ``governed_names_source`` hook when this app starts (``apps.py``)."""
    specs = [version.spec() for version in policy_versions_in_force(kind="deploy").values()]
    return rules.governed_aliases(specs)


def stage_alias(row: ModelAlias) -> bool:
    """An alias that gives its version a release stage: ``production`` or ``staging``, moved under a
    release (an alias of that name set any other way, before these names were governed, gives none)."""
    return row.alias.lower() in STAGE_ALIAS_NAMES and bool(row.job_reference)


# --- Search ------------------------------------------------------------------------------------------------


class MlflowLike(Lookup):
    """``lhs LIKE pattern`` as MLflow means it, the pattern (``filters.like_parse`` syntax) a parameter.

    PostgreSQL: ``LIKE`` / ``ILIKE`` with ``ESCAPE '\\'``. SQLite: its ``LIKE`` ignores ASCII case, so a
    case-sensitive match is ``GLOB`` with the pattern translated (``*``, ``?``, ``[*]``); ``ILIKE`` is
    ``LIKE ... ESCAPE`` (ASCII case folded only, as MLflow's own SQLite store does). Both engines match
    these patterns without a regex's exponential backtracking (``bench/mlflow_filters.py``).
    """

    lookup_name = "mlflow_like"
    prepare_rhs = False
    case_sensitive = True

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[str | int, ...]]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        parts = like_parse(str(self.rhs))
        if connection.vendor == "sqlite" and self.case_sensitive:
            return f"{lhs_sql} GLOB %s", (*lhs_params, like_to_glob(parts))
        operator = "ILIKE" if not self.case_sensitive and connection.vendor == "postgresql" else "LIKE"
        return f"{lhs_sql} {operator} %s ESCAPE '\\'", (*lhs_params, like_to_sql(parts))


class MlflowILike(MlflowLike):
    lookup_name = "mlflow_ilike"
    case_sensitive = False


def _text_condition(field: str, op: str, value: str) -> Q:
    if op == "=":
        return Q(**{field: value})
    if op == "!=":
        return ~Q(**{field: value}) | Q(**{f"{field}__isnull": True})
    return Q(MlflowLike(F(field), value) if op == "LIKE" else MlflowILike(F(field), value))


def _conditions(clauses: list[Clause], *, prefix: str) -> tuple[Q, dict[str, Any]]:
    """``prefix`` is the path from the searched rows to RegisteredModel ("" or "model__")."""
    condition = Q()
    annotations: dict[str, Any] = {}
    for index, clause in enumerate(clauses):
        values = clause.value if isinstance(clause.value, tuple) else (clause.value,)
        if clause.kind == "tag":
            name = f"_tag{index}"
            source = "tags" if not prefix else "mlflow_info__tags"
            # Cast: compared as text, not with the JSON-value lookups a key transform would bring.
            annotations[name] = Cast(KeyTextTransform(clause.key, source), output_field=TextField())
            condition &= _text_condition(name, clause.op, values[0])
        elif clause.key == "name":
            field = f"{prefix}name"
            if clause.op in ("IN", "NOT IN"):
                part = Q(**{f"{field}__in": values})
                condition &= part if clause.op == "IN" else ~part
            else:
                condition &= _text_condition(field, clause.op, values[0])
        elif clause.key == "run_id":
            uuids = []
            for value in values:
                try:
                    uuids.append(uuid.UUID(value))
                except ValueError:
                    continue
            part = Q(mlflow_info__run_id__in=values) | Q(run__run_id__in=uuids)
            condition &= part if clause.op in ("=", "IN") else ~part
        elif clause.key == "version_number":
            try:
                numbers = [int(value) for value in values]
            except ValueError as exc:
                raise FilterError(f"filter: version_number takes whole numbers, not {values}") from exc
            # A number no version can have matches nothing (and never reaches the database to overflow).
            part = Q(version__in=[n for n in numbers if 0 < n <= MAX_VERSION])
            condition &= part if clause.op in ("=", "IN") else ~part
        elif clause.key == "source_path":
            condition &= _text_condition("artifact_uri", clause.op, values[0])
        else:
            raise FilterError(f"filter: {clause.key} is not searchable here")
    return condition, annotations


_MODEL_ORDER = {"name": "name", "creation_timestamp": "created_at", "last_updated_timestamp": "created_at"}
_VERSION_ORDER = {
    "name": "model__name",
    "version_number": "version",
    "creation_timestamp": "created_at",
    "last_updated_timestamp": "created_at",
}


def _ordering(order: list[OrderBy], fields: dict[str, str], tail: list[tuple[str, bool]]) -> list[Any]:
    wanted = [(fields[item.field], item.ascending) for item in order]
    seen = {field for field, _ in wanted}
    wanted += [(field, ascending) for field, ascending in tail if field not in seen]
    return [F(field).asc() if ascending else F(field).desc() for field, ascending in wanted]


def mlflow_model_search(
    *, clauses: list[Clause], order: list[OrderBy], offset: int, limit: int
) -> tuple[list[RegisteredModel], bool]:
    """A page of live registered models and whether more follow; MLflow's order: name ascending last."""
    if any(clause.kind == "attribute" and clause.key != "name" for clause in clauses):
        raise FilterError("filter: registered models are searched by name and tag.<key> only")
    condition, annotations = _conditions(clauses, prefix="")
    rows = (
        _models()
        .annotate(**annotations)
        .filter(condition)
        .order_by(*_ordering(order, _MODEL_ORDER, [("name", True)]))
    )
    page = list(rows[offset : offset + limit + 1])
    return page[:limit], len(page) > limit


def mlflow_version_search(
    *, clauses: list[Clause], order: list[OrderBy], offset: int, limit: int
) -> tuple[list[ModelVersion], bool]:
    """A page of live versions; MLflow's default order: last updated first, then name, newest version."""
    condition, annotations = _conditions(clauses, prefix="model__")
    tail = [("created_at", False), ("model__name", True), ("version", False)]
    rows = (
        _versions()
        .annotate(**annotations)
        .filter(condition)
        .order_by(*_ordering(order, _VERSION_ORDER, tail if not order else tail[1:]))
    )
    page = list(rows[offset : offset + limit + 1])
    return page[:limit], len(page) > limit
