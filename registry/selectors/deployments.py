"""Which deployment serves a model in an environment."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

from django.db import connection

from governance.core.errors import NotFound
from registry.models import Deployment, ModelVersion, RegisteredModel


def _not_serving(environment: str, model_name: str) -> NotFound:
    return NotFound(f"model {model_name!r} is not serving in {environment!r} (never deployed, or stopped)")


def deployment_serving_get(*, environment: str, model_name: str) -> Deployment:
    """The open deployment of ``model_name`` in ``environment``, with its version and model; NotFound when
    there is none (never deployed, or stopped)."""
    deployment = (
        Deployment.objects.select_related("model_version__model")
        .filter(environment=environment, model_version__model__name=model_name, until__isnull=True)
        .first()
    )
    if deployment is None:
        raise _not_serving(environment, model_name)
    return deployment


class ServingKey(NamedTuple):
    """What identifies the bytes a deployment serves: its id and its version's pinned hashes."""

    deployment_id: int
    artifact_sha256: str
    onnx_sha256: str


@cache
def _serving_key_query() -> str:
    """Written once from the models' metadata: it runs on every prediction, and compiling the ORM's
    query cost several times the query itself."""
    q = connection.ops.quote_name
    deployment, version, model = (m._meta.db_table for m in (Deployment, ModelVersion, RegisteredModel))
    return (
        f"SELECT d.{q('id')}, v.{q('artifact_sha256')}, v.{q('onnx_sha256')} "  # noqa: S608 (no input)
        f"FROM {q(deployment)} d JOIN {q(version)} v ON v.{q('id')} = d.{q('model_version_id')} "
        f"JOIN {q(model)} m ON m.{q('id')} = v.{q('model_id')} "
        f"WHERE d.{q('environment')} = %s AND m.{q('name')} = %s AND d.{q('until')} IS NULL "
        f"ORDER BY d.{q('deployed_at')} LIMIT 1"
    )


def deployment_serving_key(*, environment: str, model_name: str) -> ServingKey:
    """:func:`deployment_serving_get` reduced to the deployment's id and its version's hashes: one light
    query per request, so a stop or a redeploy is seen by the very next request while the rest of the
    deployment is cached (a deployment row never changes version; its id changes on a redeploy)."""
    with connection.cursor() as cursor:
        cursor.execute(_serving_key_query(), [environment, model_name])
        found = cursor.fetchone()
    if found is None:
        raise _not_serving(environment, model_name)
    return ServingKey(*found)
