"""``/search/``: models and datasets whose name or description matches, and, for compliance officers
and auditors, a data subject found by the id a person has in your systems.

The text is POSTed by the page's form (``GET /search/?q=`` is accepted for links, and searches models
and datasets only): a subject id must never be in a URL, where access logs would keep it. It is hashed
at once with the subject key (``subjects.subject_hash_of``) and never stored, logged or written back
into the page: the subject is shown by keyed hash, with its requests and the dataset versions holding it.
A subject found is an audit entry (``subject.lookup``); a search that finds none is a catalogue search.
"""

from __future__ import annotations

from typing import Any, Final

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from audit.actors import actor_from_request
from governance.consent.apis.requests import REQUEST_READ_ROLES
from governance.consent.services.reads import SubjectFound, subject_lookup
from governance.consent.subjects import subject_hash_of, subject_id_problem
from governance.core.lists import roles_required
from governance.core.permissions import user_roles
from registry.apis.common import READERS
from registry.models import Dataset, RegisteredModel

MAX_HITS: Final = 25
MAX_QUERY: Final = 200


def _catalog_hits(text: str) -> dict[str, Any]:
    models = RegisteredModel.objects.select_related("owner").filter(
        Q(name__icontains=text) | Q(description__icontains=text) | Q(intended_use__icontains=text)
    )
    datasets = Dataset.objects.filter(
        Q(name__icontains=text) | Q(namespace__icontains=text) | Q(description__icontains=text)
    ).prefetch_related("versions")
    return {"models": list(models[:MAX_HITS]), "datasets": list(datasets[:MAX_HITS])}


def _subject(request: HttpRequest, raw: str) -> SubjectFound | None:
    """What the service holds about the subject with external id ``raw`` (None if nothing); a subject
    found is an audit entry (``subject.lookup``), by keyed hash."""
    if subject_id_problem(raw):
        return None
    return subject_lookup(actor=actor_from_request(request), subject_hash=subject_hash_of(raw))


@login_required
@require_http_methods(["GET", "POST"])
def search_page(request: HttpRequest) -> HttpResponse:
    roles_required(request, READERS, who="data scientists, pipelines, compliance officers and auditors")
    privacy = bool(user_roles(request.user) & frozenset(REQUEST_READ_ROLES))
    posted = request.method == "POST"
    text = (request.POST if posted else request.GET).get("q", "").strip()
    context: dict[str, Any] = {"privacy": privacy, "searched": bool(text), "posted": posted}
    if len(text) > MAX_QUERY:
        context["error"] = f"Search for at most {MAX_QUERY} characters."
        return render(request, "consent/search.html", context, status=400)
    if text:
        context.update(_catalog_hits(text))
        if posted and privacy:
            context["subject"] = _subject(request, text)
        if not posted:
            context["shown_query"] = text  # already in the URL; a POSTed text is never echoed
    del text
    return render(request, "consent/search.html", context)
