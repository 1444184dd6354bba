"""Job pages: every run of an approved release as a table, and one job with its stage, progress,
audit trail, refusal reason, what it produced and the release that authorised it. Same roles as
``GET /api/v1/jobs/<id>``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.apis import AUDIT_READERS
from governance.core.lists import list_page, roles_of, roles_required, tone
from governance.core.permissions import user_roles
from governance.jobs.apis import READERS
from governance.jobs.models import JobStatus
from governance.jobs.page_data import JobFilter, JobTable, job_facts, job_rows, job_trail, outcome_links

WHO = "data scientists, pipelines, compliance officers and auditors"


@login_required
@require_GET
def job_list_page(request: HttpRequest) -> HttpResponse:
    """``/jobs/?q=&status=&kind=&release=&requested_by=&mine=1&sort=&page=``"""
    roles_required(request, roles_of(READERS), who=WHO)
    return list_page(
        request,
        title="Jobs",
        intro="Each run of an approved release: queued, running, then succeeded, failed or refused.",
        filterset=JobFilter(request.GET or None, queryset=job_rows(), request=request),
        table_class=JobTable,
        table_id="jobs",
    )


@login_required
@require_GET
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    roles_required(request, roles_of(READERS), who=WHO)
    job = job_rows().filter(pk=job_id).first()
    if job is None:
        raise Http404(f"no job {job_id}")
    context = {
        "job": job,
        "outcome": outcome_links(job),
        "trail": job_trail(job),
        "status_tone": tone(job.status),
        "refused": job.status == JobStatus.REFUSED,
        "failed": job.status == JobStatus.FAILED,
        "audit_links": bool(user_roles(request.user) & roles_of(AUDIT_READERS)),
        **job_facts(job),
    }
    return render(request, "jobs/job.html", context)
