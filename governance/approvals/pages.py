"""Pages for compliance officers and auditors: the approval queue, each request (pinned hashes, check
results, lineage, consent summary, signatures) with sign and revoke forms, and the signature history.

Plain Django templates and forms, CSRF-protected, signed in with the session; the forms call the same
services as the API, so a signature made here is the same record, with the password entered again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.actors import actor_from_request
from governance.accounts.models import User
from governance.approvals import hashing, selectors
from governance.approvals.api_common import HISTORY_READERS
from governance.approvals.models import EXPIRED, Meaning, ReleaseRequest, ReleaseStatus
from governance.approvals.services.checks import release_checks_for_page
from governance.approvals.services.signatures import release_sign, signature_revoke
from governance.approvals.sign_off_page import consent_context, erasure_context, sign_off_context
from governance.core.errors import ApplicationError, NotFound
from governance.core.permissions import user_roles
from governance.core.roles import Role

PAGE_READERS = frozenset({Role.COMPLIANCE_OFFICER, Role.AUDITOR, Role.DATA_SCIENTIST})
QUEUE_FILTERS = ("pending", "approved", EXPIRED, "rejected", "withdrawn", "consumed", "all")


class SignForm(forms.Form):
    # No meaning chosen in advance: the signer picks one (21 CFR 11.50(a)(3): the meaning is theirs).
    meaning = forms.ChoiceField(choices=Meaning.choices, widget=forms.RadioSelect, required=True)
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        label="Your password",
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=500)


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user_roles(user) & PAGE_READERS:
        raise PermissionDenied("These pages are for compliance officers, auditors and data scientists.")
    return user


def _release(release_id: int) -> ReleaseRequest:
    try:
        return selectors.release_get(pk=release_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


def _may_sign(user: User, release: ReleaseRequest) -> bool:
    roles = user_roles(user)
    named = {requirement["role"] for requirement in release.policy_version.required_approvals}
    return (
        release.effective_status() == ReleaseStatus.PENDING
        and Role.PIPELINE not in roles
        and bool(roles & named)
        and user.pk != release.requested_by_id
        and not any(s.signer_id == user.pk and s.revoked_at is None for s in release.signatures.all())
    )


def _lineage_links(release: ReleaseRequest) -> list[dict[str, str]]:
    return [
        {"node_id": pin["node_id"], "url": "/lineage/?nodeId=" + quote(pin["node_id"], safe=":")}
        for pin in selectors.release_pins(release)
    ]


def _check_rows(release: ReleaseRequest) -> list[dict[str, Any]]:
    """Each check with the moment it was evaluated (results stored before re-runs: the request's time)."""
    rows = []
    for check in release.checks:
        stamp = check.get("evaluated_at")
        rows.append({**check, "evaluated": hashing.parse_utc_text(stamp) if stamp else release.created_at})
    return rows


def _page(route: str, **kwargs: str) -> str:
    try:
        return reverse(route, kwargs=kwargs)
    except NoReverseMatch:  # a page of another app that is not mounted here
        return ""


def _run_rows(release: ReleaseRequest, runs: list[selectors.RunSummary]) -> list[dict[str, Any]]:
    """Each job of the request, with links to what it produced: the model version it registered, or the
    deployment it made (the model version's lineage, the deployment's monitoring page and API record)."""
    rows = []
    for run in runs:
        links: list[dict[str, str]] = []
        node = run["model_version"]
        if node:
            links.append({"label": node, "url": "/lineage/?nodeId=" + quote(node, safe=":")})
            model = release.model_name
            if run["deployment_id"] is None and (url := _page("model-page", name=model)):
                links.append({"label": f"model {model}", "url": url})
        if run["deployment_id"] is not None:
            label = f"deployment {run['deployment_id']} ({run['environment']})"
            links.append({"label": label, "url": f"/api/v1/deployments/{run['deployment_id']}"})
            url = _page("monitoring-page", environment=run["environment"], model=release.model_name)
            if url:
                links.append(
                    {"label": f"monitoring of {release.model_name} in {run['environment']}", "url": url}
                )
        rows.append({**run, "links": links, "url": _page("job-page", job_id=str(run["job_id"]))})
    return rows


@login_required
@require_GET
def approval_queue_page(request: HttpRequest) -> HttpResponse:
    _user(request)
    wanted = request.GET.get("status", "pending")
    if wanted not in QUEUE_FILTERS:
        wanted = "pending"
    now = timezone.now()
    releases = selectors.release_list(status="" if wanted == "all" else wanted, now=now)
    page = Paginator(releases, 50).get_page(request.GET.get("page"))
    rows = [{"release": release, "approvals": selectors.release_approvals(release, now)} for release in page]
    context = {"rows": rows, "page": page, "wanted": wanted, "filters": QUEUE_FILTERS, "now": now}
    return render(request, "approvals/queue.html", context)


def _release_context(
    request: HttpRequest, user: User, release: ReleaseRequest, **extra: Any
) -> dict[str, Any]:
    now = timezone.now()
    signatures = [
        {
            "signature": signature,
            "hash_valid": selectors.signature_hash_valid(signature, release),
            "counts": signature.counts_at(now),
            "may_revoke": signature.meaning == Meaning.APPROVED
            and signature.revoked_at is None
            and release.status in (ReleaseStatus.PENDING, ReleaseStatus.APPROVED)
            and (signature.signer_id == user.pk or Role.COMPLIANCE_OFFICER in user_roles(user)),
        }
        for signature in release.signatures.all()
    ]
    live = next((grant for grant in release.grants.all() if grant.revoked_at is None), None)
    status = release.effective_status(now)
    runs = selectors.release_runs(release)
    context: dict[str, Any] = {
        "release": release,
        "status": status,
        "checks": _check_rows(release),
        "checks_live": status in (ReleaseStatus.PENDING, ReleaseStatus.APPROVED),
        "checks_failing": [check["name"] for check in release.checks if check["status"] == "failed"],
        "runs": _run_rows(release, runs),
        "run_outcome": selectors.release_run_outcome(release),
        "pins": selectors.release_pins(release),
        "hash_valid": selectors.release_hash_valid(release),
        "lineage": _lineage_links(release),
        **consent_context(release, runs),
        "erasure_blocks": erasure_context(release, runs),
        "approvals": selectors.release_approvals(release, now),
        "signatures": signatures,
        "grant": live,
        "grant_unusable": live.unusable_reason(now) if live is not None else None,
        "may_sign": _may_sign(user, release),
        "form": SignForm(),
        "revoke_form": RevokeForm(),
    }
    context.update(sign_off_context(release, user))
    context["may_sign"] = context["may_sign"] and not context["you_may_not_sign"]
    context.update(extra)
    return context


@login_required
@require_GET
def release_page(request: HttpRequest, release_id: int) -> HttpResponse:
    user = _user(request)
    release = _release(release_id)
    # The checks are answered again for an open request: the evidence may have changed since it was made.
    release_checks_for_page(actor=actor_from_request(request), release=release)
    return render(request, "approvals/release.html", _release_context(request, user, release))


@login_required
@require_POST
def release_sign_page(request: HttpRequest, release_id: int) -> HttpResponse:
    user = _user(request)
    release = _release(release_id)
    form = SignForm(request.POST)
    if form.is_valid():
        try:
            signature = release_sign(
                actor=actor_from_request(request), release=release, signer=user, **form.cleaned_data
            )
        except ApplicationError as exc:
            context = _release_context(
                request,
                user,
                _release(release_id),
                form=SignForm(
                    initial={"meaning": form.cleaned_data["meaning"], "comment": form.cleaned_data["comment"]}
                ),
            )
            context["error"] = exc.detail
            return render(request, "approvals/release.html", context, status=exc.status)
        messages.success(request, f"Signed: {signature.manifestation}")
        return redirect("approval-release", release_id=release.pk)
    context = _release_context(request, user, release, form=form)
    return render(request, "approvals/release.html", context, status=400)


@login_required
@require_POST
def signature_revoke_page(request: HttpRequest, release_id: int, signature_id: int) -> HttpResponse:
    user = _user(request)
    release = _release(release_id)
    signature = next((one for one in release.signatures.all() if one.pk == signature_id), None)
    if signature is None:
        raise Http404(f"release {release_id} has no signature {signature_id}")
    form = RevokeForm(request.POST)
    if not form.is_valid():
        context = _release_context(request, user, release, error="Give a reason to revoke the approval.")
        return render(request, "approvals/release.html", context, status=400)
    try:
        signature_revoke(
            actor=actor_from_request(request),
            signature=signature,
            by=user,
            reason=form.cleaned_data["reason"],
        )
    except ApplicationError as exc:
        context = _release_context(request, user, _release(release_id), error=exc.detail)
        return render(request, "approvals/release.html", context, status=exc.status)
    messages.success(request, f"Approval by {signature.printed_name} revoked.")
    return redirect("approval-release", release_id=release.pk)


@login_required
@require_GET
def signature_history_page(request: HttpRequest) -> HttpResponse:
    """Every signature, newest first, for auditors: printed name, UTC date and time, meaning, record.
    The same roles as ``GET /api/v1/signatures`` (``HISTORY_READERS``): compliance officers and auditors."""
    if not user_roles(_user(request)) & HISTORY_READERS.allowed_roles:  # type: ignore[attr-defined]
        raise PermissionDenied("The signature history is for compliance officers and auditors.")
    page = Paginator(selectors.signature_list(), 100).get_page(request.GET.get("page"))
    rows = [
        {"signature": signature, "hash_valid": selectors.signature_hash_valid(signature, signature.release)}
        for signature in page
    ]
    return render(request, "approvals/history.html", {"rows": rows, "page": page})
