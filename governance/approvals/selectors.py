"""Reading policies, release requests, signatures and grants (related rows joined or prefetched)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypedDict

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from governance.accounts.models import User
from governance.approvals import hashing, rules
from governance.approvals.automated_checks import consent_selector
from governance.approvals.errors import NoValidGrant
from governance.approvals.models import (
    EXPIRED,
    Grant,
    Policy,
    PolicyVersion,
    ReleaseDataset,
    ReleaseRequest,
    ReleaseStatus,
    Signature,
)
from governance.core.errors import ApplicationError, NotFound
from registry.models import DatasetVersion
from registry.models_quality import QualityProfile
from registry.reports.types import ApprovalEntry

# --- Policies ----------------------------------------------------------------------------------------------


def policy_list() -> QuerySet[Policy]:
    return Policy.objects.select_related("created_by").prefetch_related(
        Prefetch("versions", queryset=PolicyVersion.objects.order_by("-version"))
    )


def policy_get(*, name: str) -> Policy:
    try:
        return policy_list().get(name=name)
    except Policy.DoesNotExist as exc:
        raise NotFound(f"no policy named {name!r}") from exc


def policy_current_version(policy: Policy) -> PolicyVersion:
    """The latest version (prefetched by ``policy_list``, newest first)."""
    versions = list(policy.versions.all())
    return max(versions, key=lambda version: version.version)


def policy_versions_in_force(*, kind: str) -> dict[str, PolicyVersion]:
    """Each policy's latest version for ``kind``, when that version is active (one query)."""
    latest: dict[str, PolicyVersion] = {}
    for version in PolicyVersion.objects.select_related("policy").order_by("policy__name", "version"):
        latest[version.policy.name] = version
    return {name: version for name, version in latest.items() if version.active and version.kind == kind}


# --- Release requests ---------------------------------------------------------------------------------------


def _releases() -> QuerySet[ReleaseRequest]:
    return ReleaseRequest.objects.select_related(
        "policy_version__policy",
        "requested_by",
        "human_overseer",
        "model_version__model",
        "risk_classification__decided_by",
    ).prefetch_related(
        Prefetch(
            "datasets",
            queryset=ReleaseDataset.objects.select_related(
                "dataset_version__dataset", "dataset_version__quality_profile"
            ),
        ),
        Prefetch("signatures", queryset=Signature.objects.select_related("signer", "revoked_by")),
        Prefetch("grants", queryset=Grant.objects.order_by("-issued_at")),
        "jobs",  # the jobs app's rows, read through the relation it declares (approvals never imports it)
    )


def release_get(*, pk: int | str) -> ReleaseRequest:
    try:
        return _releases().get(pk=int(pk))
    except (ValueError, ReleaseRequest.DoesNotExist) as exc:
        raise NotFound(f"no release request {pk!r}") from exc


def release_list(
    *, status: str = "", kind: str = "", requested_by: User | None = None, now: datetime | None = None
) -> QuerySet[ReleaseRequest]:
    """Release requests, newest first; ``status`` may be the derived ``expired``."""
    now = now or timezone.now()
    releases = _releases()
    if status == EXPIRED:
        releases = releases.filter(status=ReleaseStatus.APPROVED, expires_at__lte=now)
    elif status == ReleaseStatus.APPROVED:
        releases = releases.filter(status=ReleaseStatus.APPROVED, expires_at__gt=now)
    elif status:
        releases = releases.filter(status=status)
    if kind:
        releases = releases.filter(kind=kind)
    if requested_by is not None:
        releases = releases.filter(requested_by=requested_by)
    return releases


def release_pins(release: ReleaseRequest) -> list[hashing.PinnedHash]:
    """What the request pins: each dataset version's content hash with its quality profile's (read now, so
    a profile changed since the request no longer hashes to ``request_hash``), and the model version's."""
    pins: list[hashing.PinnedHash] = [
        hashing.pin(row.node_id, row.sha256, _profile_sha256(row.dataset_version))
        for row in release.datasets.all()
    ]
    if release.model_version_id is not None:
        pins.append({"node_id": release.model_node_id, "sha256": release.model_sha256})
    return pins


def _profile_sha256(version: DatasetVersion) -> str | None:
    # The reverse one-to-one raises (an AttributeError) when the version has no profile.
    profile: QualityProfile | None = getattr(version, "quality_profile", None)
    return profile.sha256 if profile is not None else None


def release_document(
    release: ReleaseRequest, pins: list[hashing.PinnedHash] | None = None
) -> hashing.ReleaseDocument:
    version = release.policy_version
    return hashing.release_document(
        kind=release.kind,
        environment=release.environment,
        risk_level=release.risk_level,
        model=release.model_name,
        model_version=release.model_version.version if release.model_version is not None else None,
        pinned=release_pins(release) if pins is None else pins,
        parameters=release.parameters,
        code_version=release.code_version,
        metric_thresholds=release.metric_thresholds,
        dpia_reference=release.dpia_reference,
        human_overseer_id=release.human_overseer_id,
        policy={"name": version.policy.name, "version": version.version},
    )


def release_hash_valid(release: ReleaseRequest) -> bool:
    """Does the stored request still hash to ``request_hash`` (nobody edited the row)?"""
    return hashing.request_hash(release_document(release)) == release.request_hash


def signature_hash_valid(signature: Signature, release: ReleaseRequest) -> bool:
    expected = hashing.signature_hash(
        request_hash=release.request_hash,
        release_id=release.pk,
        signer_id=signature.signer_id,
        meaning=signature.meaning,
        signed_at=hashing.utc_text(signature.signed_at),
    )
    return signature.release_id == release.pk and expected == signature.signed_hash


class ApprovalsSummary(TypedDict):
    needed: list[rules.ApprovalRequirement]
    counted: int
    missing: list[rules.ApprovalRequirement]
    met: bool


def release_quorum(
    release: ReleaseRequest, now: datetime | None = None
) -> tuple[rules.Quorum, list[Signature]]:
    """The quorum over the approvals that count now, and those approvals."""
    now = now or timezone.now()
    counting = [signature for signature in release.signatures.all() if signature.counts_at(now)]
    result = rules.quorum(
        release.policy_version.required_approvals,
        [(signature.pk, signature.roles) for signature in counting],
    )
    return result, counting


def release_approvals(release: ReleaseRequest, now: datetime | None = None) -> ApprovalsSummary:
    result, _ = release_quorum(release, now)
    return {
        "needed": list(release.policy_version.required_approvals),
        "counted": len(result.assigned),
        "missing": result.missing,
        "met": result.met,
    }


def consent_summary(release: ReleaseRequest) -> list[dict[str, Any]] | None:
    """The consent manifest of each dataset version holding personal data, as of now; None when the
    consent app cannot answer."""
    manifest_of = consent_selector("eligibility_manifest")
    if manifest_of is None:
        return None
    summary: list[dict[str, Any]] = []
    for row in release.datasets.all():
        version = row.dataset_version
        if not version.dataset.holds_personal_data:
            summary.append({"node_id": row.node_id, "personal_data": False, "manifest": None})
            continue
        try:
            manifest = manifest_of(dataset_version=version, purpose="train_ai_system")
        except ApplicationError as exc:  # e.g. a version referenced by URI: no stored rows to filter
            summary.append(
                {"node_id": row.node_id, "personal_data": True, "manifest": None, "problem": exc.detail}
            )
            continue
        summary.append({"node_id": row.node_id, "personal_data": True, "manifest": manifest})
    return summary


class RunSummary(TypedDict):
    """One job that ran, or tried to run, an approved request (``governance.jobs`` writes them)."""

    job_id: int
    status: str  # queued, running, succeeded, failed or refused
    stage: str
    percent: int
    started_at: datetime | None
    finished_at: datetime | None
    reason: str  # why it failed or was refused
    model_version: str  # the node id of the model version it registered or deployed
    deployment_id: int | None
    environment: str


def release_runs(release: ReleaseRequest) -> list[RunSummary]:
    """The jobs of ``release``, newest first, with what each produced."""
    runs: list[RunSummary] = []
    for job in sorted(release.jobs.all(), key=lambda job: (job.created_at, job.pk), reverse=True):
        result = job.result if isinstance(job.result, dict) else {}
        deployment = result.get("deployment")
        runs.append(
            {
                "job_id": job.pk,
                "status": job.status,
                "stage": job.stage,
                "percent": job.percent,
                "started_at": job.started_at,
                "finished_at": job.finished_at,
                "reason": job.error,
                "model_version": str(result.get("model_version") or ""),
                "deployment_id": deployment if isinstance(deployment, int) else None,
                "environment": str(result.get("environment") or ""),
            }
        )
    return runs


def release_run_outcome(release: ReleaseRequest) -> str:
    """What became of an approved request once it was run, in one sentence ("" before any run): a
    consumed grant says only that the grant was used, not whether anything was trained or deployed."""
    runs = release_runs(release)
    if not runs:
        return (
            "the grant was used, but no job is recorded" if release.status == ReleaseStatus.CONSUMED else ""
        )
    run = runs[0]
    made = f"; it registered {run['model_version']}" if run["model_version"] else ""
    if run["deployment_id"] is not None:
        made = f"; it deployed {run['model_version']} to {run['environment']}"
    if run["status"] == "refused":
        return f"the run (job {run['job_id']}) was refused: {run['reason']}"
    if run["status"] == "failed":
        return f"the run (job {run['job_id']}) failed during {run['stage']}: {run['reason']}"
    if run["status"] == "succeeded":
        return f"the run (job {run['job_id']}) succeeded{made}"
    return f"the run (job {run['job_id']}) is {run['status']} ({run['stage']}, {run['percent']}%)"


# --- Signatures --------------------------------------------------------------------------------------------


def signature_list(*, signer: User | None = None) -> QuerySet[Signature]:
    """Every signature, newest first: the history auditors read."""
    signatures = Signature.objects.select_related(
        "signer", "revoked_by", "release__policy_version__policy", "release__model_version"
    ).order_by("-signed_at", "-pk")
    return signatures.filter(signer=signer) if signer is not None else signatures


_MODEL_NODE = re.compile(r"^model:(?P<name>.+)#(?P<version>\d+)$")


def approvals_for_nodes(node_ids: Iterable[str]) -> list[ApprovalEntry]:
    """Every signature on a release request that pinned one of ``node_ids`` (dataset or model version
    node ids), shaped for the lineage report's approvals section, oldest first."""
    ids = set(node_ids)
    covering = Q(release__datasets__node_id__in=ids)
    for node in ids:
        if match := _MODEL_NODE.match(node):
            covering |= Q(
                release__model_name=match["name"], release__model_version__version=int(match["version"])
            )
    signatures = (
        Signature.objects.filter(covering)
        .select_related("release__model_version")
        .prefetch_related("release__datasets")
        .distinct()
        .order_by("signed_at", "pk")
    )
    return [
        {
            "request": f"release:{signature.release_id}",
            "signer_name": signature.printed_name,
            "signed_at": signature.signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "meaning": signature.meaning,  # type: ignore[typeddict-item]
            "comment": signature.comment,
            "covers": sorted(pin["sha256"] for pin in release_pins(signature.release)),
        }
        for signature in signatures
    ]


# --- Grants -----------------------------------------------------------------------------------------------


def grant_for_release(release: ReleaseRequest) -> Grant | None:
    """The release's live grant (not revoked; it may be used or expired), or None."""
    return Grant.objects.filter(release=release, revoked_at__isnull=True).first()


def grant_get(*, grant_id: str) -> Grant:
    try:
        return Grant.objects.select_related("release").get(grant_id=grant_id)
    except (ValueError, Grant.DoesNotExist) as exc:
        raise NotFound(f"no grant {grant_id!r}") from exc


def grant_usable_for(release: ReleaseRequest, now: datetime | None = None) -> Grant:
    """The grant a job for ``release`` may be enqueued with; otherwise NoValidGrant (409) saying why."""
    now = now or timezone.now()
    status = release.effective_status(now)
    if status == ReleaseStatus.PENDING:
        summary = release_approvals(release, now)
        missing = ", ".join(f"{item['count']} {item['role']}" for item in summary["missing"])
        raise NoValidGrant(f"release {release.pk} is pending: it still needs approval by {missing}")
    if status == EXPIRED:
        raise NoValidGrant(
            f"release {release.pk}'s approval expired at {release.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    if status != ReleaseStatus.APPROVED:
        reason = f": {release.decision_reason}" if release.decision_reason else ""
        raise NoValidGrant(f"release {release.pk} is {status}{reason}; it cannot run")
    grant = grant_for_release(release)
    if grant is None:
        raise NoValidGrant(f"release {release.pk} has no grant")
    unusable = grant.unusable_reason(now)
    if unusable:
        raise NoValidGrant(unusable)
    return grant
