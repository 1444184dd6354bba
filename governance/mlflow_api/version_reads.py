"""The read behind MLflow's ``model-versions/get``: two fixed statements, no ORM query compiled.

The client calls it more than anything else (before most writes, and to poll a new version's status).
Through the ORM the request spent about four times as long compiling its two queries as PostgreSQL
spent running them (``make profile``), so they are written out here once: the live version with its
model, producing run and MLflow row in one joined statement, then its aliases, each column converted
as the ORM would (``governance.core.raw_rows``). What it returns renders exactly as
``selectors.mlflow_version_get``'s rows do (tests/mlflow_api/test_version_reads.py holds the two alike).
"""

from __future__ import annotations

from functools import cache
from itertools import accumulate

from django.db import connection

from governance.core.raw_rows import Columns
from governance.mlflow_api.models import MlflowVersionInfo
from governance.mlflow_api.selectors import MAX_VERSION, MlflowNotFound
from registry.models import ModelAlias, ModelVersion, RegisteredModel, TrainingRun

_VERSION = Columns(ModelVersion, ("id", "model", "version", "artifact_uri", "run", "created_at"))
_MODEL = Columns(RegisteredModel, ("id", "name"))
_RUN = Columns(TrainingRun, ("id", "run_id"))
_INFO = Columns(
    MlflowVersionInfo,
    ("model_version", "tags", "stage", "description", "run_id", "run_link", "updated_at"),
)
_ALIAS = Columns(ModelAlias, ("id", "alias", "version", "job_reference"))


@cache
def _statements(vendor: str) -> tuple[str, str]:
    """The two statements (``vendor`` keys the cache: identifiers are quoted per backend)."""
    # Identifiers from the models' metadata; every value is bound.
    version = (
        f"SELECT {_VERSION.select('v')}, {_MODEL.select('m')}, {_RUN.select('r')}, {_INFO.select('i')}"  # noqa: S608
        f" FROM {_VERSION.table} v JOIN {_MODEL.table} m ON m.id = v.model_id"
        f" LEFT JOIN {_RUN.table} r ON r.id = v.run_id"
        f" LEFT JOIN {_INFO.table} i ON i.model_version_id = v.id"
        " WHERE m.name = %s AND v.version = %s AND v.archived_at IS NULL AND m.archived_at IS NULL"
    )
    aliases = f"SELECT {_ALIAS.select('a')} FROM {_ALIAS.table} a WHERE a.version_id = %s ORDER BY a.alias"  # noqa: S608
    return version, aliases


def mlflow_version_with_aliases(*, name: str, version: str) -> tuple[ModelVersion, list[ModelAlias]]:
    """The live version ``version`` of live model ``name``, with its model, run and MLflow row loaded,
    and its aliases by name; ``MlflowNotFound`` (MLflow's message) when there is none."""
    try:
        number = int(version)
    except (TypeError, ValueError):
        number = 0
    if not 0 < number <= MAX_VERSION:
        raise MlflowNotFound(f"Model Version (name={name}, version={version}) not found")
    version_sql, aliases_sql = _statements(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(version_sql, [name, number])
        row = cursor.fetchone()
        if row is None:
            raise MlflowNotFound(f"Model Version (name={name}, version={version}) not found")
        cursor.execute(aliases_sql, [row[0]])
        aliases = [_ALIAS.instance(values) for values in cursor.fetchall()]
    ends = list(accumulate(len(columns.names) for columns in (_VERSION, _MODEL, _RUN)))
    found = _VERSION.instance(row[: ends[0]])
    found.model = _MODEL.instance(row[ends[0] : ends[1]])
    found.run = _RUN.instance(row[ends[1] : ends[2]]) if row[ends[1]] is not None else None
    info = _INFO.instance(row[ends[2] :]) if row[ends[2]] is not None else None
    ModelVersion.mlflow_info.related.set_cached_value(found, info)
    for alias in aliases:
        ModelAlias.version.field.set_cached_value(alias, found)
    return found, aliases
