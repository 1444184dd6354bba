"""Evidence from release requests and the human oversight around them: the automated checks' results,
declared and policy thresholds, signatures (21 CFR Part 11 §11.50: printed name, time, meaning), the
named overseer and who may stop a deployment (EU AI Act Art. 14(4)(e))."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from governance.documentation.evidence import as_dict, as_list, item, person, text, utc
from governance.documentation.facts import Facts
from governance.documentation.types import Evidence
from governance.jobs.apis import STOPPERS


def _source(release: Any) -> str:
    return f"release:{release.pk}"


def check_items(
    facts: Facts, names: Iterable[str] | None = None, *, label: str = "Automated checks"
) -> list[Evidence]:
    """The stored results of the automated checks on each release request (``names``: only those)."""
    wanted = set(names) if names is not None else None
    found = []
    for release in facts.releases:
        rows = [
            [check.get("name"), check.get("status"), check.get("detail"), check.get("evaluated_at")]
            for check in map(as_dict, as_list(release.checks))
            if wanted is None or check.get("name") in wanted
        ]
        if rows:
            found.append(
                item(
                    f"{label}: {release.kind} request {release.pk}",
                    _source(release),
                    {"policy": _policy(release), "request_hash": release.request_hash},
                    headers=("Check", "Status", "Detail", "Evaluated (UTC)"),
                    rows=rows,
                )
            )
    return found


def _policy(release: Any) -> str:
    version = release.policy_version
    return f"{version.policy.name} v{version.version}"


def release_item(release: Any) -> Evidence:
    return item(
        f"{release.kind.capitalize()} request {release.pk}",
        _source(release),
        {
            "status": release.effective_status(),
            "requested_by": person(release.requested_by),
            "requested_at": utc(release.created_at),
            "decided_at": utc(release.decided_at),
            "policy": _policy(release),
            "environment": release.environment,
            "risk_level": release.risk_level,
            "code_version": release.code_version,
            "parameters": release.parameters or None,
            "metric_thresholds": release.metric_thresholds or None,
            "dpia_reference": release.dpia_reference,
            "human_overseer": person(release.human_overseer),
            "justification": release.justification,
            "checks_passed": release.checks_passed,
            "pinned_datasets": [f"{row.node_id} sha256:{row.sha256}" for row in release.datasets.all()]
            or None,
        },
        sha256=release.request_hash,
    )


def signature_items(facts: Facts) -> list[Evidence]:
    rows = [
        [
            f"release:{release.pk}",
            signature.printed_name,
            signature.meaning,
            utc(signature.signed_at),
            signature.comment,
            f"revoked {utc(signature.revoked_at)}: {signature.revoke_reason}" if signature.revoked_at else "",
            signature.signed_hash,
        ]
        for release in facts.releases
        for signature in sorted(release.signatures.all(), key=lambda one: (one.signed_at, one.pk))
    ]
    if not rows:
        return []
    return [
        item(
            "Electronic signatures (signer's printed name, time and meaning, 21 CFR Part 11 §11.50)",
            facts.version.node_id,
            headers=("Request", "Signer", "Meaning", "Signed (UTC)", "Comment", "Revoked", "Signed hash"),
            rows=rows,
        )
    ]


def threshold_items(facts: Facts) -> list[Evidence]:
    """Metric thresholds each request declared, and those its policy version required."""
    rows = []
    for release in facts.releases:
        for metric, bound in sorted(as_dict(release.metric_thresholds).items()):
            rows.append([f"release:{release.pk}", "declared on the request", metric, text(bound)])
        for check in map(as_dict, as_list(release.policy_version.checks)):
            params = as_dict(check.get("params"))
            if check.get("name") == "metric_thresholds":
                for metric, bound in sorted(as_dict(params.get("metrics")).items()):
                    rows.append([f"release:{release.pk}", f"policy {_policy(release)}", metric, text(bound)])
            elif check.get("name") == "bias_within_threshold" and params:
                rows.append([f"release:{release.pk}", f"policy {_policy(release)}", "bias", text(params)])
    if not rows:
        return []
    return [
        item(
            "Metric thresholds",
            facts.version.node_id,
            headers=("Request", "Set by", "Metric", "Bound"),
            rows=rows,
        )
    ]


def metrics_item(facts: Facts) -> list[Evidence]:
    version = facts.version
    metrics = as_dict(version.metrics)
    if not metrics:
        return []
    source = (
        "measured by the service on held-out rows"
        if version.metrics_source == "service"
        else ("declared by the uploader (not measured by the service)")
    )
    return [
        item(
            "Metrics of this version",
            version.node_id,
            {"source": source},
            headers=("Metric", "Value"),
            rows=[[key, value] for key, value in sorted(metrics.items())],
        )
    ]


def oversight_items(facts: Facts) -> list[Evidence]:
    """Who oversees the system and how it is stopped (EU AI Act Art. 14)."""
    found = []
    overseers = [
        [f"release:{release.pk}", release.kind, person(release.human_overseer)]
        for release in facts.releases
        if release.human_overseer is not None
    ]
    if overseers:
        found.append(
            item(
                "Named human overseers",
                facts.version.node_id,
                headers=("Request", "Kind", "Overseer"),
                rows=overseers,
            )
        )
    if facts.deployments:
        roles = ", ".join(sorted(getattr(STOPPERS, "allowed_roles", ())))
        found.append(
            item(
                "Stopping a deployment at once (Art. 14(4)(e))",
                facts.version.node_id,
                {
                    "endpoint": "POST /api/v1/deployments/<environment>/<model>/stop (a reason is required)",
                    "who_may_stop": roles,
                    "approval_needed": "none: stopping needs no sign-off; each stop is an audit entry",
                    "stopped_so_far": [
                        f"{one.node_id} until {utc(one.until)}" for one in facts.deployments if one.until
                    ]
                    or None,
                },
            )
        )
    return found
