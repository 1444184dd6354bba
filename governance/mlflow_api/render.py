"""Registry rows as MLflow's JSON messages (``model_registry.proto``, as MLflow's server writes them).

Field names are the proto's, ``version`` is a string, timestamps are epoch milliseconds, tags are
``[{"key", "value"}]``; empty repeated fields are left out, as MLflow's server leaves them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from governance.mlflow_api.models import Stage
from governance.mlflow_api.selectors import stage_alias, version_aliases
from registry.models import ModelAlias, ModelVersion, RegisteredModel

# The governed aliases that stand for MLflow's (deprecated) stages.
STAGE_ALIASES = {"production": Stage.PRODUCTION, "staging": Stage.STAGING}
STAGE_ORDER = (Stage.NONE, Stage.STAGING, Stage.PRODUCTION, Stage.ARCHIVED)


class TagJson(TypedDict):
    key: str
    value: str


class ModelVersionJson(TypedDict):
    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str
    description: str
    source: str
    run_id: str
    status: str
    run_link: str
    tags: NotRequired[list[TagJson]]
    aliases: NotRequired[list[str]]


class AliasJson(TypedDict):
    alias: str
    version: str


class RegisteredModelJson(TypedDict):
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str
    latest_versions: NotRequired[list[ModelVersionJson]]
    tags: NotRequired[list[TagJson]]
    aliases: NotRequired[list[AliasJson]]


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def tags_json(tags: dict[str, Any]) -> list[TagJson]:
    return [{"key": key, "value": str(value)} for key, value in sorted(tags.items())]


def _info(version: ModelVersion) -> Any:
    return getattr(version, "mlflow_info", None)


def current_stage(version: ModelVersion, aliases: Sequence[ModelAlias] | None = None) -> str:
    """Production or Staging when that governed alias, moved under a release, points here; else the
    stored stage (None or Archived): a stage is never read from an alias set without the release.
    ``aliases``: the version's alias rows when the caller knows them (else they are read)."""
    for row in version.aliases.all() if aliases is None else aliases:
        if stage_alias(row):
            return str(STAGE_ALIASES[row.alias.lower()])
    info = _info(version)
    return str(info.stage) if info is not None else str(Stage.NONE)


def version_json(version: ModelVersion, aliases: Sequence[ModelAlias] | None = None) -> ModelVersionJson:
    """MLflow's ``ModelVersion`` message; ``aliases``: the version's alias rows when the caller knows
    them (a version created in this request has none), else they are read."""
    info = _info(version)
    updated = info.updated_at if info is not None else version.created_at
    run_id = info.run_id if info is not None and info.run_id else ""
    if not run_id and version.run is not None:
        run_id = version.run.run_id.hex
    body: ModelVersionJson = {
        "name": version.model.name,
        "version": str(version.version),
        "creation_timestamp": millis(version.created_at),
        "last_updated_timestamp": millis(max(updated, version.created_at)),
        "current_stage": current_stage(version, aliases),
        "description": info.description if info is not None else "",
        "source": version.artifact_uri,
        "run_id": run_id,
        "status": "READY",
        "run_link": info.run_link if info is not None else "",
    }
    tags = info.tags if info is not None else {}
    if tags:
        body["tags"] = tags_json(tags)
    names = version_aliases(version) if aliases is None else [row.alias for row in aliases]
    if names:
        body["aliases"] = names
    return body


def latest_per_stage(versions: list[ModelVersion], stages: list[str] | None = None) -> list[ModelVersion]:
    """The newest live version in each stage asked for (every stage when none is named)."""
    wanted = {stage.lower() for stage in stages} if stages else {stage.lower() for stage in STAGE_ORDER}
    latest: dict[str, ModelVersion] = {}
    for version in versions:
        stage = current_stage(version).lower()
        if stage in wanted and (stage not in latest or latest[stage].version < version.version):
            latest[stage] = version
    return sorted(latest.values(), key=lambda version: version.version)


def model_json(model: RegisteredModel) -> RegisteredModelJson:
    versions: list[ModelVersion] = list(getattr(model, "live_versions", []))
    updated = max([model.created_at, *(version.created_at for version in versions)])
    body: RegisteredModelJson = {
        "name": model.name,
        "creation_timestamp": millis(model.created_at),
        "last_updated_timestamp": millis(updated),
        "description": model.description,
    }
    latest = latest_per_stage(versions)
    if latest:
        body["latest_versions"] = [version_json(version) for version in latest]
    if model.tags:
        body["tags"] = tags_json(model.tags)
    aliases: list[AliasJson] = [
        {"alias": row.alias, "version": str(row.version.version)}
        for row in model.aliases.all()
        if row.version.archived_at is None  # an alias of a deleted version reads as gone, as in MLflow
    ]
    if aliases:
        body["aliases"] = aliases
    return body
