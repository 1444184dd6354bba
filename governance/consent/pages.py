"""Pages for compliance officers and auditors: a data subject's history, and the open privacy
requests with their due dates (Django templates, no JavaScript).

The subject's id is typed into a form and POSTed (never in a URL, so never in an access log), hashed
at once, and never written back into the page: the page names the subject by keyed hash.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from audit.actors import actor_from_request
from governance.consent.services.reads import consent_history_read
from governance.consent.subjects import subject_hash_of, subject_id_problem
from governance.core.permissions import user_roles
from governance.core.roles import Role

PAGE_READERS = frozenset({Role.COMPLIANCE_OFFICER, Role.AUDITOR})


def _check_reader(request: HttpRequest) -> None:
    if not user_roles(request.user) & PAGE_READERS:
        raise PermissionDenied("These pages are for compliance officers and auditors.")


@login_required
@require_http_methods(["GET", "POST"])
def subject_history_page(request: HttpRequest) -> HttpResponse:
    _check_reader(request)
    context: dict[str, object] = {}
    if request.method == "POST":
        raw = request.POST.get("subject_id", "")
        problem = subject_id_problem(raw)
        if problem:
            context["error"] = problem
            return render(request, "consent/subject.html", context, status=400)
        subject = subject_hash_of(raw)
        del raw
        # One audit entry (consent.read), by keyed hash, whatever it finds: "no record" is an answer too.
        context.update(consent_history_read(actor=actor_from_request(request), subject_hash=subject))
    return render(request, "consent/subject.html", context)
