"""The rows behind lineage node ids, loaded with one query per node type (``lineage_graph``'s data) and
the filters that select them (``node_query``, which reports and erasure tracing use too)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Final, Literal

from django.db.models import Q

from registry.models import Dataset, DatasetVersion, Deployment, Job, ModelVersion, TrainingRun

NodeType = Literal["dataset", "dataset_version", "job", "run", "model", "deployment"]
# Ids per IN list / OR chain: keeps every statement well under SQLite's bound-parameter limit, so a
# graph of n nodes of one type costs ceil(n / _CHUNK) queries (one for any graph a person reads).
_CHUNK: Final = 500


def node_type(node_id: str) -> NodeType | None:
    """The type named by an id's prefix; a dataset id with ``#<version>`` is a dataset version."""
    prefix, sep, rest = node_id.partition(":")
    if not sep or not rest:
        return None
    if prefix == "dataset":
        return "dataset_version" if "#" in rest else "dataset"
    if prefix in {"job", "run", "model", "deployment"}:
        return prefix  # type: ignore[return-value]
    return None


def nodes_load(ids: set[str]) -> dict[str, dict[str, Any]]:
    by_type: dict[NodeType, list[str]] = defaultdict(list)
    for one in ids:
        one_type = node_type(one)
        if one_type is not None:
            by_type[one_type].append(one)
    data: dict[str, dict[str, Any]] = {}
    for one_type, wanted in by_type.items():
        for start in range(0, len(wanted), _CHUNK):
            data.update(_LOADERS[one_type](wanted[start : start + _CHUNK]))
    return data


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _splits(text: str, separator: str) -> list[tuple[str, str]]:
    """Every way to cut ``text`` at one ``separator``: namespaces such as ``postgres://db:5432``
    contain colons themselves, so the cut is not known until a row matches."""
    return [(text[:i], text[i + 1 :]) for i, char in enumerate(text) if char == separator]


def _any_of(conditions: Iterable[Q]) -> Q | None:
    combined: Q | None = None
    for condition in conditions:
        combined = condition if combined is None else combined | condition
    return combined


def _run_uuids(ids: Iterable[str]) -> list[uuid.UUID]:
    found = []
    for one in ids:
        try:
            found.append(uuid.UUID(one.removeprefix("run:")))
        except ValueError:
            continue
    return found


def _model_conditions(ids: Iterable[str]) -> Iterator[Q]:
    for one in ids:
        name, _, version = one.removeprefix("model:").rpartition("#")
        if name and version.isascii() and version.isdigit():  # "²".isdigit(), yet int("²") fails
            yield Q(model__name=name, version=int(version))


def _deployment_conditions(ids: Iterable[str]) -> Iterator[Q]:
    for one in ids:
        environment, _, model = one.removeprefix("deployment:").rpartition(":")
        if environment and model:
            yield Q(environment=environment, model_version__model__name=model)


def node_query(kind: NodeType, ids: Iterable[str]) -> Q | None:
    """The filter selecting the rows behind node ids of one type (``None`` when none can match).

    A namespace may hold the separator itself, so a query can match more rows than asked for:
    callers keep the rows whose ``node_id`` is one of ``ids``.
    """
    ids = list(ids)
    if kind == "dataset":
        return _any_of(
            Q(namespace=namespace, name=name)
            for one in ids
            for namespace, name in _splits(one.removeprefix("dataset:"), ":")
        )
    if kind == "dataset_version":
        return _any_of(
            Q(dataset__namespace=namespace, dataset__name=name, version=version)
            for one in ids
            for base, version in _splits(one.removeprefix("dataset:"), "#")
            for namespace, name in _splits(base, ":")
        )
    if kind == "job":
        return _any_of(
            Q(namespace=namespace, name=name)
            for one in ids
            for namespace, name in _splits(one.removeprefix("job:"), ":")
        )
    if kind == "run":
        run_ids = _run_uuids(ids)
        return Q(run_id__in=run_ids) if run_ids else None
    if kind == "model":
        return _any_of(_model_conditions(ids))
    return _any_of(_deployment_conditions(ids))


def _load_datasets(ids: list[str]) -> dict[str, dict[str, Any]]:
    query = node_query("dataset", ids)
    if query is None:
        return {}
    wanted = set(ids)
    return {
        row.node_id: {
            "namespace": row.namespace,
            "name": row.name,
            "description": row.description,
            "holdsPersonalData": row.holds_personal_data,
            "facets": row.facets,
            "createdAt": _iso(row.created_at),
            "archivedAt": _iso(row.archived_at),
        }
        for row in Dataset.objects.filter(query)
        if row.node_id in wanted
    }


def _load_dataset_versions(ids: list[str]) -> dict[str, dict[str, Any]]:
    query = node_query("dataset_version", ids)
    if query is None:
        return {}
    wanted = set(ids)
    return {
        row.node_id: {
            "namespace": row.dataset.namespace,
            "name": row.dataset.name,
            "version": row.version,
            "sha256": row.sha256,
            "uri": row.uri,
            "rowCount": row.row_count,
            "unknown": row.unknown,
            "eventTime": _iso(row.event_time),
            "facets": row.facets,
            "createdAt": _iso(row.created_at),
            "archivedAt": _iso(row.archived_at),
        }
        for row in DatasetVersion.objects.filter(query).select_related("dataset")
        if row.node_id in wanted
    }


def _load_jobs(ids: list[str]) -> dict[str, dict[str, Any]]:
    query = node_query("job", ids)
    if query is None:
        return {}
    wanted = set(ids)
    return {
        row.node_id: {
            "namespace": row.namespace,
            "name": row.name,
            "facets": row.facets,
            "createdAt": _iso(row.created_at),
        }
        for row in Job.objects.filter(query)
        if row.node_id in wanted
    }


def _load_runs(ids: list[str]) -> dict[str, dict[str, Any]]:
    query = node_query("run", ids)
    if query is None:
        return {}
    return {
        row.node_id: {
            "runId": str(row.run_id),
            "job": row.job.node_id if row.job is not None else None,
            "state": row.state,
            "startedAt": _iso(row.started_at),
            "endedAt": _iso(row.ended_at),
            "codeVersion": row.code_version,
            "facets": row.facets,
        }
        for row in TrainingRun.objects.filter(query).select_related("job")
    }


def _load_models(ids: list[str]) -> dict[str, dict[str, Any]]:
    query = node_query("model", ids)
    if query is None:
        return {}
    return {
        row.node_id: {
            "model": row.model.name,
            "version": row.version,
            "status": row.status,
            "framework": row.framework,
            "artifactSha256": row.artifact_sha256,
            "riskLevel": row.model.risk_level,
            "createdAt": _iso(row.created_at),
            "archivedAt": _iso(row.archived_at),
        }
        for row in ModelVersion.objects.filter(query).select_related("model")
    }


def _load_deployments(ids: list[str]) -> dict[str, dict[str, Any]]:
    """A deployment node is an environment serving a model; each release into it is a row, the
    newest one describes the node and the others are its history."""
    query = node_query("deployment", ids)
    if query is None:
        return {}
    rows = Deployment.objects.filter(query).select_related("model_version__model").order_by("deployed_at")
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        release = {
            "version": row.model_version.version,
            "deployedAt": _iso(row.deployed_at),
            "until": _iso(row.until),
        }
        previous = result.get(row.node_id, {}).get("history", [])
        result[row.node_id] = {
            "environment": row.environment,
            "model": row.model_version.model.name,
            "version": row.model_version.version,
            "endpoint": row.endpoint,
            "deployedAt": _iso(row.deployed_at),
            "until": _iso(row.until),
            "history": [*previous, release],
        }
    return result


_LOADERS: dict[NodeType, Callable[[list[str]], dict[str, dict[str, Any]]]] = {
    "dataset": _load_datasets,
    "dataset_version": _load_dataset_versions,
    "job": _load_jobs,
    "run": _load_runs,
    "model": _load_models,
    "deployment": _load_deployments,
}
