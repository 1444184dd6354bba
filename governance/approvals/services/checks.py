"""Running a release request's automated checks again, so no one signs or runs on stale evidence.

A request's checks are first run when it is made, but the answers can change while it waits: an
erasure request (GDPR Art. 17) may come to affect the pinned data, consent may be withdrawn (GDPR
Art. 7(3)), the human overseer may leave. So the checks run again when the request's page is shown,
when someone signs it and in the worker before it trains or deploys, each result stamped with the
UTC time it was evaluated.

Every evaluation replaces the stored results (an auditor sees when each answer was last given), but
only a changed outcome is audited: a page view that confirms what was known adds nothing to the log,
while a check that turns from passed to failed (or back) is one entry with both outcomes and the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.approvals.automated_checks import checks_run
from governance.approvals.check_types import FAILED, CheckResult, CheckSubject
from governance.approvals.models import Meaning, ReleaseKind, ReleaseRequest, ReleaseStatus
from governance.core.errors import Conflict

# While a request is open its checks still decide something; afterwards its results are the record of
# what was known when it was decided or run (the worker re-runs them itself before a consumed run).
LIVE_STATUSES = (ReleaseStatus.PENDING, ReleaseStatus.APPROVED)


@dataclass(frozen=True)
class ChecksOutcome:
    results: list[CheckResult]
    failed: list[CheckResult]
    changed: bool  # a check's status (or the overall verdict) differs from what was stored


def release_check_subject(release: ReleaseRequest) -> CheckSubject:
    """What the checks look at for a stored request: its declarations and the rows it pins (a deploy:
    the training inputs of its model version), read again now."""
    model_version = release.model_version
    if release.kind == ReleaseKind.DEPLOY and model_version is not None and model_version.run is not None:
        dataset_versions = list(model_version.run.inputs.select_related("dataset"))
    else:
        dataset_versions = [row.dataset_version for row in release.datasets.all()]
    return CheckSubject(
        kind=release.kind,
        risk_level=release.risk_level,
        environment=release.environment,
        dataset_versions=dataset_versions,
        model_version=model_version,
        metric_thresholds=dict(release.metric_thresholds),
        dpia_reference=release.dpia_reference,
        human_overseer=release.human_overseer,
    )


def _statuses(results: list[CheckResult]) -> dict[str, str]:
    return {result["name"]: result["status"] for result in results}


@transaction.atomic
def release_checks_rerun(
    *, actor: Actor, release: ReleaseRequest, occasion: str, now: datetime | None = None
) -> ChecksOutcome:
    """Run ``release``'s automated checks again and record the results on it (and on ``release``).

    1. Lock the request row (as signing, revocation and grant claims do): concurrent evaluations queue,
       so a change of outcome is recorded and audited once.
    2. Run the checks of the request's policy version on what it pins, as of ``now``.
    3. Store the results, each with its evaluation time; when a check's status changed, audit the
       change (``occasion``: what asked, e.g. ``page``, ``signature`` or ``worker``).
    """
    stored = ReleaseRequest.objects.select_for_update().only("checks", "checks_passed").get(pk=release.pk)
    results = checks_run(
        release_check_subject(release), release.policy_version.checks, at=now or timezone.now()
    )
    failed = [result for result in results if result["status"] == FAILED]
    before, after = _statuses(list(stored.checks)), _statuses(results)
    changed = before != after or stored.checks_passed != (not failed)
    ReleaseRequest.objects.filter(pk=release.pk).update(checks=results, checks_passed=not failed)
    release.checks, release.checks_passed = list(results), not failed
    if changed:
        audit_record(
            actor=actor,
            action=AuditAction.RELEASE_CHECKS_CHANGE,
            target=Target.of("release", release.pk),
            data={
                "occasion": occasion,
                "evaluated_at": results[0]["evaluated_at"] if results else "",
                "before": before,
                "checks": after,
                "checks_passed": not failed,
                "failed": {result["name"]: result["detail"] for result in failed},
            },
        )
    return ChecksOutcome(results=list(results), failed=failed, changed=changed)


def release_checks_before_signing(*, actor: Actor, release: ReleaseRequest, meaning: str) -> None:
    """A step of ``release_sign``: re-run the checks of a pending request and refuse an approval while
    one fails (409 ``check_failed``, naming it). The re-run commits on its own, so the changed outcome
    stays recorded and audited although the signature is refused. A rejection is never refused."""
    if release.effective_status() != ReleaseStatus.PENDING:
        return  # the signing step itself says why a request that is not pending is not signed
    outcome = release_checks_rerun(actor=actor, release=release, occasion="signature")
    if meaning != Meaning.APPROVED or not outcome.failed:
        return
    first = outcome.failed[0]
    names = ", ".join(result["name"] for result in outcome.failed)
    raise Conflict(
        f"automated check {names} now fails (evaluated {first.get('evaluated_at', '')}): {first['detail']}. "
        "The request cannot be approved while a check fails; it may still be rejected.",
        code="check_failed",
        extra={"checks": [result["name"] for result in outcome.failed]},
    )


def release_checks_for_page(*, actor: Actor, release: ReleaseRequest) -> bool:
    """Re-run the checks of an open request before its page is shown; True when they were re-run."""
    if release.effective_status() not in LIVE_STATUSES:
        return False
    release_checks_rerun(actor=actor, release=release, occasion="page")
    return True
