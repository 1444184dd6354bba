"""What the home page shows each role (issue 17, "a home per role"): the few things a compliance officer,
an auditor or a data scientist comes to the console for, each count linking to its filtered list.

Every value is read through the owning app's selectors; nothing here writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone

from audit import selectors as audit_selectors
from governance.approvals.selectors import release_list
from governance.consent.selectors.blocks import erasure_blocks_for
from governance.consent.selectors.requests import privacy_request_list
from governance.core.roles import Role
from governance.jobs.selectors import job_list_for
from governance.monitoring.selectors import alarms_open, serving_deployments

SHOWN = 8  # rows per panel; the count links to the whole filtered list


def list_url(path: str, **params: str) -> str:
    """A list page filtered by ``params`` (the lists' GET filters)."""
    return f"{path}?{urlencode(params)}" if params else path


def _waiting(now: datetime) -> dict[str, Any]:
    pending = release_list(status="pending", now=now).order_by("created_at", "pk")
    rows = [{"release": release, "age": now - release.created_at} for release in pending[:SHOWN]]
    return {"count": pending.count(), "rows": rows, "url": list_url("/approvals/all/", status="pending")}


def _privacy(now: datetime) -> dict[str, Any]:
    today = now.date()
    open_requests = privacy_request_list(open_only=True)  # by due date: overdue ones come first
    rows = [
        {
            "request": request,
            "overdue": request.respond_by < today,
            "days_left": (request.respond_by - today).days,
            "days_overdue": (today - request.respond_by).days,
        }
        for request in open_requests[:SHOWN]
    ]
    return {
        "count": open_requests.count(),
        "overdue": open_requests.filter(respond_by__lt=today).count(),
        "rows": rows,
        "url": list_url("/privacy/requests/", status="open"),
        "overdue_url": list_url("/privacy/requests/", overdue="1"),
    }


def _blocked() -> list[dict[str, Any]]:
    """Erasure or deletion requests that block a deployment still serving a model version."""
    deployments = serving_deployments()
    pages = {
        deployment.node_id: f"/deployments/{deployment.environment}/{deployment.model_version.model.name}/"
        for deployment in deployments
    }
    blocks = erasure_blocks_for(list(pages)) if pages else []
    return [
        {**block, "deployment_links": [(node, pages.get(node, "")) for node in block["deployments"]]}
        for block in blocks
        if block["deployments"]
    ]


def _entries(actions: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {
            "entry": entry,
            "url": f"/audit/{entry.index}/",
            "action_url": list_url("/audit/", action=entry.action),
        }
        for entry in audit_selectors.entry_latest(actions=actions, limit=SHOWN)
    ]


def officer_home(now: datetime) -> dict[str, Any]:
    alarms = alarms_open()
    return {
        "waiting": _waiting(now),
        "privacy": _privacy(now),
        "alarms": alarms,
        "alarms_url": list_url("/deployments/", serving="1"),
        "blocked": _blocked(),
        "refusals": _entries(audit_selectors.REFUSAL_ACTIONS),
    }


def auditor_home() -> dict[str, Any]:
    return {
        "checkpoint": audit_selectors.checkpoint_latest_status(),
        "exports": _entries(audit_selectors.EXPORT_ACTIONS),
        "export_urls": [
            (action, list_url("/audit/", action=action)) for action in audit_selectors.EXPORT_ACTIONS
        ],
    }


def scientist_home(user: Any) -> dict[str, Any]:
    requests = release_list(requested_by=user).order_by("-created_at", "-pk")
    return {
        "requests": list(requests[:SHOWN]),
        "requests_count": requests.count(),
        "requests_url": list_url("/approvals/all/", requested_by=user.username),
        "jobs": job_list_for(requested_by=user, limit=SHOWN),
        "jobs_url": list_url("/jobs/", mine="1"),
    }


def home_context(user: Any, roles: frozenset[str]) -> dict[str, Any]:
    """The panels for each of ``roles`` the user holds (someone may hold several)."""
    now = timezone.now()
    return {
        "officer": officer_home(now) if Role.COMPLIANCE_OFFICER in roles else None,
        "auditor": auditor_home() if Role.AUDITOR in roles else None,
        "scientist": scientist_home(user) if Role.DATA_SCIENTIST in roles else None,
    }
