"""Which erasure and deletion requests block which model versions and deployments: the notices the
console's release, model, deployment and lineage pages and every lineage report show.

The same rule as the deploy gate (``erasure_block_reason``): a model version is blocked by each
binding (pending or done) erasure or deletion whose subject is in a dataset version upstream of it,
unless a compliance officer exempted that version from that request. A deployment is named when it
still serves a blocked version (deploys are refused; a serving one is not stopped by the request). A
dataset version holding such a subject blocks training on it (``erasure_affected_nodes``, which the
training job checks).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from governance.consent.models import PrivacyRequest
from governance.consent.selectors.ledger import binding_erasures
from governance.consent.selectors.requests import LAW
from registry.models import DatasetSubject, DatasetVersion, Deployment, ModelVersion
from registry.reports.erasure import erasure_detail
from registry.reports.types import ErasureBlock
from registry.selectors.lineage import MAX_DEPTH, lineage_walk, node_query, node_type


def request_page_url(pk: int) -> str:
    return f"/privacy/requests/{pk}/"


def _model_versions(node_ids: list[str]) -> list[ModelVersion]:
    """The model versions named, and those the named deployments serve now."""
    models = [one for one in node_ids if node_type(one) == "model"]
    found: dict[int, ModelVersion] = {}
    query = node_query("model", models) if models else None
    if query is not None:
        for row in ModelVersion.objects.select_related("model").filter(query):
            if row.node_id in models:
                found[row.pk] = row
    for one in node_ids:
        if node_type(one) != "deployment":
            continue
        environment, _, name = one.removeprefix("deployment:").partition(":")
        serving = Deployment.objects.filter(
            environment=environment, model_version__model__name=name, until__isnull=True
        ).select_related("model_version__model")
        found.update((row.model_version_id, row.model_version) for row in serving)
    return sorted(found.values(), key=lambda row: (row.model.name, row.version))


def _upstream(model_version: ModelVersion) -> list[DatasetVersion]:
    edges = lineage_walk(node_id=model_version.node_id, depth=MAX_DEPTH)
    ids = sorted({end for edge in edges for end in edge if node_type(end) == "dataset_version"})
    query = node_query("dataset_version", ids) if ids else None
    if query is None:
        return []
    rows = DatasetVersion.objects.select_related("dataset").filter(query)
    return [row for row in rows if row.node_id in set(ids)]


def _serving(model_version_ids: Iterable[int]) -> dict[int, list[str]]:
    rows = Deployment.objects.filter(model_version_id__in=list(model_version_ids), until__isnull=True)
    serving: dict[int, list[str]] = defaultdict(list)
    for row in rows.select_related("model_version__model").order_by("environment"):
        serving[row.model_version_id].append(row.node_id)
    return serving


def _dataset_blocks(node_ids: list[str], binding: Any) -> dict[int, set[str]]:
    """Request id → the named dataset versions that hold its subject (training on them is refused)."""
    ids = [one for one in node_ids if node_type(one) == "dataset_version"]
    query = node_query("dataset_version", ids) if ids else None
    if query is None:
        return {}
    versions = {row.pk: row.node_id for row in DatasetVersion.objects.select_related("dataset").filter(query)}
    versions = {pk: node for pk, node in versions.items() if node in ids}
    held = DatasetSubject.objects.filter(
        dataset_version_id__in=list(versions), subject_hash__in=binding.values("subject_hash")
    ).values_list("subject_hash", "dataset_version_id")
    by_subject: dict[str, set[str]] = defaultdict(set)
    for subject, version_pk in held:
        by_subject[subject].add(versions[version_pk])
    found: dict[int, set[str]] = defaultdict(set)
    for pk, subject in binding.filter(subject_hash__in=list(by_subject)).values_list("pk", "subject_hash"):
        found[pk] |= by_subject[subject]
    return found


def erasure_blocks_for(node_ids: Iterable[str]) -> list[ErasureBlock]:
    """The binding erasure or deletion requests blocking model versions among ``node_ids`` (or served
    by deployments among them) or training on dataset versions among them, one notice per request,
    oldest first. One query when no erasure binds; otherwise a lineage walk per model version (pages
    and reports name a handful)."""
    binding = binding_erasures()
    if not binding.exists():
        return []
    wanted = list(node_ids)
    notices: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"models": [], "held_in": set(), "datasets": set()}
    )
    blocked_versions: dict[int, list[int]] = defaultdict(list)
    for model_version in _model_versions(wanted):
        upstream = {row.pk: row for row in _upstream(model_version)}
        if not upstream:
            continue
        holders: dict[str, set[int]] = defaultdict(set)
        for subject, version_pk in DatasetSubject.objects.filter(
            dataset_version_id__in=list(upstream), subject_hash__in=binding.values("subject_hash")
        ).values_list("subject_hash", "dataset_version_id"):
            holders[subject].add(version_pk)
        blocking = binding.filter(subject_hash__in=list(holders)).exclude(
            exemptions__model_version=model_version
        )
        for pk, subject in blocking.values_list("pk", "subject_hash"):
            notices[pk]["models"].append(model_version.node_id)
            notices[pk]["held_in"] |= {upstream[one].node_id for one in holders[subject]}
            blocked_versions[pk].append(model_version.pk)
    for pk, datasets in _dataset_blocks(wanted, binding).items():
        notices[pk]["datasets"] |= datasets
        notices[pk]["held_in"] |= datasets
    requests = {row.pk: row for row in PrivacyRequest.objects.filter(pk__in=list(notices))}
    serving = _serving({pk for pks in blocked_versions.values() for pk in pks})
    return [
        _notice(requests[pk], notice, sorted({d for mv in blocked_versions[pk] for d in serving[mv]}))
        for pk, notice in sorted(notices.items())
    ]


def _notice(request: PrivacyRequest, notice: dict[str, Any], deployments: list[str]) -> ErasureBlock:
    block: ErasureBlock = {
        "request": request.pk,
        "type": request.type,
        "status": request.status,
        "law": LAW[request.type],
        "url": request_page_url(request.pk),
        "received_at": request.received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "respond_by": request.respond_by.isoformat(),
        "model_versions": sorted(notice["models"]),
        "deployments": deployments,
        "held_in": sorted(notice["held_in"]),
        "dataset_versions": sorted(notice["datasets"]),
        "detail": "",
    }
    block["detail"] = erasure_detail(block)
    return block
