"""Reads of release jobs."""

from __future__ import annotations

from typing import Any

from governance.jobs.models import ReleaseJob


def job_list_for(*, requested_by: Any, limit: int = 10) -> list[ReleaseJob]:
    """The jobs ``requested_by`` started, newest first, with their release request."""
    return list(
        ReleaseJob.objects.select_related("release")
        .filter(requested_by=requested_by)
        .order_by("-created_at", "-pk")[:limit]
    )
