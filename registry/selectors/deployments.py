"""Which deployment serves a model in an environment."""

from __future__ import annotations

from typing import NamedTuple

from governance.core.errors import NotFound
from registry.models import Deployment


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


def deployment_serving_key(*, environment: str, model_name: str) -> ServingKey:
    """:func:`deployment_serving_get` reduced to the deployment's id and its version's hashes: one light
    query per request, so a stop or a redeploy is seen by the very next request while the rest of the
    deployment is cached (a deployment row never changes version; its id changes on a redeploy)."""
    found = (
        Deployment.objects.filter(
            environment=environment, model_version__model__name=model_name, until__isnull=True
        )
        .values_list("pk", "model_version__artifact_sha256", "model_version__onnx_sha256")
        .first()
    )
    if found is None:
        raise _not_serving(environment, model_name)
    return ServingKey(*found)
