"""What the MLflow API may not do by itself: move a governed alias or give a release stage.

Which names are governed is the registry's one answer (``registry.selectors.aliases.name_governed``:
``production``, ``staging``, ``champion``, every environment a deploy policy names, any alias an
approved deploy job last moved; case-insensitive). A governed alias moves only with the deploy job of
an approved release; the refusal is a 403 ``PERMISSION_DENIED`` naming the release request that would
do it, and an audit entry. MLflow's stages are the same names seen through the deprecated stage API
(``Production`` is the alias ``production``), so a transition to a governed one is refused the same way.
"""

from __future__ import annotations

from rest_framework.request import Request

from audit.actors import actor_from_request
from governance.mlflow_api import selectors, services
from governance.mlflow_api.errors import MlflowError
from governance.mlflow_api.models import Stage
from registry.models import ModelVersion, RegisteredModel
from registry.selectors.aliases import name_governed

STAGES = {stage.lower(): stage for stage in Stage.values}


def _release_needed(*, model: str, version: int, environment: str) -> str:
    return (
        f"POST /api/v1/releases with kind=deploy, model={model}, version={version}, "
        f"environment={environment}, then have it signed and run; the deploy job moves the alias"
    )


def _refuse(request: Request, endpoint: str, version: ModelVersion, message: str) -> MlflowError:
    services.mlflow_refusal_record(
        actor=actor_from_request(request), endpoint=endpoint, target=version.node_id, reason=message
    )
    return MlflowError("PERMISSION_DENIED", message)


def alias_check(
    request: Request,
    endpoint: str,
    *,
    model: RegisteredModel,
    alias: str,
    version: ModelVersion,
    deleting: bool = False,
) -> None:
    if not name_governed(model=model, name=alias):
        return
    if deleting:
        message = (
            f"alias '{alias}' is governed: it is removed only by stopping the deployment it stands for "
            f"(POST /api/v1/deployments/<id>/end), not through the MLflow API"
        )
    else:
        needed = _release_needed(model=model.name, version=version.version, environment=alias)
        message = f"alias '{alias}' is governed: {needed}"
    raise _refuse(request, endpoint, version, message)


def stage_check(request: Request, endpoint: str, *, version: ModelVersion, stage: str) -> str:
    """The stage's canonical spelling when the MLflow API may set it; else refuse."""
    canonical = STAGES.get(stage.lower())
    if canonical is None:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(Stage.values)}.",
        )
    environment = canonical.lower()  # the alias this stage stands for
    if name_governed(model=version.model, name=environment):
        needed = _release_needed(model=version.model.name, version=version.version, environment=environment)
        message = f"stage '{canonical}' is governed (alias '{environment}'): {needed}"
        raise _refuse(request, endpoint, version, message)
    return canonical


def version_delete_check(request: Request, endpoint: str, version: ModelVersion) -> None:
    """A version a governed alias points at is serving: deleting it would strand the deployment."""
    for alias in selectors.version_aliases(version):
        alias_check(request, endpoint, model=version.model, alias=alias, version=version, deleting=True)
