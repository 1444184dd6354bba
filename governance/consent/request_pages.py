"""A privacy request as a workflow page: what it reaches (dataset versions, model versions,
deployments), its legal clock, the steps a compliance officer takes, and the answer to the subject.

Each step is a POST form with the password entered again, checked by the same service as an
e-signature (``governance.consent.reauth``: a wrong password is refused and audited, repeated ones lock
signing), then the same consent service the REST API calls, which writes the step's audit entry.
Roles as ``/api/v1/privacy-requests``: compliance officers and auditors read, compliance officers act.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any, Final

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.actors import Actor, actor_from_request
from audit.services import Target
from governance.accounts.models import User
from governance.consent.apis.requests import REQUEST_READ_ROLES
from governance.consent.models import (
    BINDING_STATUSES,
    ERASING_TYPES,
    OPEN_STATUSES,
    ExemptionGround,
    PrivacyRequest,
    RequestStatus,
)
from governance.consent.reauth import password_confirm
from governance.consent.selectors.requests import (
    PrivacyRequestReport,
    privacy_request_get,
    privacy_request_report,
)
from governance.consent.services.erasure import (
    ERASABLE_STATUSES,
    erasure_exemption_record,
    privacy_request_erase_rows,
)
from governance.consent.services.reads import privacy_request_read
from governance.consent.services.requests import (
    TRANSITIONS,
    privacy_request_impact_compute,
    privacy_request_status_set,
)
from governance.core.errors import ApplicationError, NotFound, ValidationFailed
from governance.core.permissions import user_roles
from governance.core.roles import Role
from registry.reports.links import node_page_url
from registry.selectors import catalog

READERS: Final = frozenset(REQUEST_READ_ROLES)
HANDLERS: Final = frozenset({Role.COMPLIANCE_OFFICER})


class PasswordForm(forms.Form):
    password = forms.CharField(
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        label="Your password, again",
    )


class DenyForm(PasswordForm):
    reason = forms.CharField(
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Why it is denied (sent to the subject)",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["reason", "password"])


class ExemptionForm(PasswordForm):
    model_version = forms.ChoiceField(label="Model version kept in service")
    # No ground chosen in advance: the officer names the one they rely on.
    ground = forms.ChoiceField(choices=[("", "— choose —"), *ExemptionGround.choices], label="Legal ground")
    reason = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}), label="Reason")

    def __init__(self, *args: Any, versions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model_version"].choices = [(node, node) for node in versions]  # type: ignore[attr-defined]
        field_order = ["model_version", "ground", "reason", "password"]
        self.order_fields(field_order)


def _user(request: HttpRequest, roles: frozenset[str]) -> User:
    user = request.user
    if not isinstance(user, User) or not user_roles(user) & roles:
        who = "compliance officers" if roles == HANDLERS else "compliance officers and auditors"
        raise PermissionDenied(f"Privacy requests are handled by {who}.")
    return user


def _request(request_id: int) -> PrivacyRequest:
    try:
        return privacy_request_get(pk=request_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


def clock(row: PrivacyRequest, today: date) -> dict[str, Any]:
    """The legal clock: days left to answer (and, CCPA, to confirm receipt), or how late it is; for a
    closed request, when it was answered against its due date."""
    closed_at = row.completed_at or row.denied_at
    if closed_at is not None:
        late = (closed_at.date() - row.respond_by).days
        text = f"answered {late} day(s) after the due date" if late > 0 else "answered in time"
        return {"open": False, "overdue": late > 0, "text": text}
    days = (row.respond_by - today).days
    if days < 0:
        text = f"{-days} day(s) overdue"
    elif days == 0:
        text = "due today"
    else:
        text = f"{days} day(s) left"
    confirm = ""
    if row.acknowledge_by is not None and row.verified_at is None:
        left = (row.acknowledge_by - today).days
        confirm = (
            f"confirm receipt: {left} day(s) left" if left >= 0 else f"confirm receipt: {-left} day(s) late"
        )
    return {"open": True, "overdue": days < 0, "text": text, "confirm": confirm}


def _steps(row: PrivacyRequest, report: dict[str, Any]) -> dict[str, bool]:
    """Which steps the request's state allows (the services refuse the others anyway)."""
    impact = report["impact"] or {}
    erasing = row.type in ERASING_TYPES
    unerased = [d for d in impact.get("dataset_versions", []) if d["stored"] and d["erased"] is None]
    return {
        "verify": RequestStatus.VERIFIED in TRANSITIONS[row.status],
        "start": RequestStatus.IN_PROGRESS in TRANSITIONS[row.status],
        "impact": erasing and row.status in OPEN_STATUSES,
        "erase": erasing and row.status in ERASABLE_STATUSES and bool(unerased),
        "exempt": erasing and row.status in BINDING_STATUSES and bool(_exemptable(report)),
        "complete": RequestStatus.COMPLETED in TRANSITIONS[row.status],
        "deny": RequestStatus.DENIED in TRANSITIONS[row.status],
    }


def _exemptable(report: dict[str, Any]) -> list[str]:
    impact = report["impact"] or {}
    return [m["node_id"] for m in impact.get("model_versions", []) if m["exemption"] is None]


def _links(report: dict[str, Any]) -> dict[str, str]:
    found = report["response_document"]["found"]
    nodes = [*found["dataset_versions"], *found["model_versions"], *found["deployments"]]
    kinds = {"dataset": "dataset_version", "model": "model_version", "deployment": "deployment"}
    return {node: node_page_url(node, kinds.get(node.partition(":")[0], "")) for node in nodes}


STEP_TEXT: Final[dict[str, tuple[str, str]]] = {
    "verify": ("Verify the requester's identity", "GDPR Art. 12(6); CCPA: a verifiable consumer request."),
    "start": ("Start work", "Marks the request in progress, with you as its handler."),
    "impact": ("Follow through lineage again", "Adds model versions trained on the subject's data since."),
    "erase": (
        "Erase the subject's rows",
        "Each stored dataset file holding them becomes a new version without them (retrain on that); "
        "the old files are deleted.",
    ),
    "exempt": (
        "Record an exemption",
        "A model version may still be deployed on a legal ground (GDPR Art. 17(3), CCPA §1798.105(d)).",
    ),
    "complete": (
        "Complete the request",
        "An erasure completes only once no stored file holds the subject's rows.",
    ),
    "deny": ("Deny the request", "The reason goes into the answer to the subject."),
}


def _form(action: str, report: dict[str, Any], data: Any = None) -> PasswordForm:
    form_class = ACTIONS[action][0]
    auto_id = f"step-{action}-%s"  # several forms on one page: each field its own id
    if form_class is ExemptionForm:
        return ExemptionForm(data, auto_id=auto_id, versions=_exemptable(report))
    return form_class(data, auto_id=auto_id)


def _context(
    request: HttpRequest,
    row: PrivacyRequest,
    bound: PasswordForm | None = None,
    shown: PrivacyRequestReport | None = None,
    **extra: Any,
) -> dict[str, Any]:
    report = dict(shown if shown is not None else privacy_request_report(request=row))
    user = request.user
    may_act = isinstance(user, User) and bool(user_roles(user) & HANDLERS)
    allowed = _steps(row, report) if may_act else {}
    step_forms = [
        {
            "action": action,
            "title": STEP_TEXT[action][0],
            "help": STEP_TEXT[action][1],
            "form": bound if bound is not None and extra.get("failed") == action else _form(action, report),
        }
        for action, ok in allowed.items()
        if ok
    ]
    context: dict[str, Any] = {
        "row": row,
        "report": report,
        "impact": report["impact"],
        "document": report["response_document"],
        "clock": clock(row, timezone.now().date()),
        "links": _links(report),
        "may_act": may_act,
        "step_forms": step_forms,
    }
    context.update(extra)
    return context


@login_required
@require_GET
def privacy_request_page(request: HttpRequest, request_id: int) -> HttpResponse:
    """The request; audited as a read (``privacy_request.read``). After a refused step the page shows
    again as the step's answer, and the step, not a read, is what that POST did."""
    _user(request, READERS)
    row, report = _read(request, request_id, "page")
    return render(request, "consent/request.html", _context(request, row, shown=report))


def _read(request: HttpRequest, request_id: int, via: str) -> tuple[PrivacyRequest, PrivacyRequestReport]:
    try:
        return privacy_request_read(actor=actor_from_request(request), pk=request_id, via=via)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


def _model_version(node_id: str) -> Any:
    name, _, version = node_id.removeprefix("model:").rpartition("#")
    try:
        return catalog.model_version_get(model_name=name, version=version)
    except NotFound as exc:
        raise ValidationFailed(f"model_version: {exc.detail}") from exc


def _status(status: str) -> Callable[[Actor, PrivacyRequest, dict[str, Any]], object]:
    def step(actor: Actor, row: PrivacyRequest, data: dict[str, Any]) -> object:
        return privacy_request_status_set(
            actor=actor, request=row, status=status, reason=data.get("reason", "")
        )

    return step


def _erase(actor: Actor, row: PrivacyRequest, data: dict[str, Any]) -> object:
    return privacy_request_erase_rows(actor=actor, request=row)


def _impact(actor: Actor, row: PrivacyRequest, data: dict[str, Any]) -> object:
    return privacy_request_impact_compute(actor=actor, request=row)


def _exempt(actor: Actor, row: PrivacyRequest, data: dict[str, Any]) -> object:
    return erasure_exemption_record(
        actor=actor,
        request=row,
        model_version=_model_version(data["model_version"]),
        ground=data["ground"],
        reason=data["reason"],
    )


# action → (form, service call, confirmation); the order is the order on the page
ACTIONS: Final[dict[str, tuple[type[PasswordForm], Callable[..., object], str]]] = {
    "verify": (PasswordForm, _status(RequestStatus.VERIFIED), "Identity verified."),
    "start": (PasswordForm, _status(RequestStatus.IN_PROGRESS), "Work started."),
    "impact": (PasswordForm, _impact, "Followed through lineage again."),
    "erase": (PasswordForm, _erase, "The subject's rows were erased."),
    "exempt": (ExemptionForm, _exempt, "Exemption recorded."),
    "complete": (PasswordForm, _status(RequestStatus.COMPLETED), "Request completed."),
    "deny": (DenyForm, _status(RequestStatus.DENIED), "Request denied."),
}


@login_required
@require_POST
def privacy_request_action(request: HttpRequest, request_id: int, action: str) -> HttpResponse:
    """One step: 1. a compliance officer only; 2. the form valid; 3. the password right (a wrong one is
    audited and may lock signing); 4. the consent service, which audits the step. Any refusal shows
    the page again with the reason and the service's status code, and changes nothing."""
    user = _user(request, HANDLERS)
    if action not in ACTIONS:
        raise Http404(f"no step {action!r}; one of {', '.join(ACTIONS)}")
    row = _request(request_id)
    _, call, done = ACTIONS[action]
    form = _form(action, dict(privacy_request_report(request=row)), request.POST)
    if not form.is_valid():
        context = _context(request, row, form, error="Check the form: " + _errors(form), failed=action)
        return render(request, "consent/request.html", context, status=400)
    actor = actor_from_request(request)
    try:
        password_confirm(
            actor=actor,
            user=user,
            password=form.cleaned_data["password"],
            target=Target.of("privacy_request", row.pk),
        )
        call(actor, row, form.cleaned_data)
    except ApplicationError as exc:
        context = _context(request, _request(request_id), form, error=exc.detail, failed=action)
        return render(request, "consent/request.html", context, status=exc.status)
    messages.success(request, done)
    return redirect("privacy-request-page", request_id=row.pk)


def _errors(form: forms.Form) -> str:
    return "; ".join(f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in form.errors.items())


@login_required
@require_GET
def privacy_request_response_page(request: HttpRequest, request_id: int) -> HttpResponse:
    """The answer for the data subject (``privacy_request_report``'s response document), to read, print
    or download: ``?download=html`` or ``?download=json``. Audited as a read (``privacy_request.read``,
    ``via`` ``response`` or ``response.<format>`` when downloaded)."""
    _user(request, READERS)
    wanted = request.GET.get("download", "")
    via = f"response.{wanted}" if wanted in {"json", "html"} else "response"
    row, report = _read(request, request_id, via)
    document = report["response_document"]
    if wanted == "json":
        response = HttpResponse(
            json.dumps(document, indent=2, sort_keys=True), content_type="application/json; charset=utf-8"
        )
    else:
        response = render(request, "consent/response.html", {"row": row, "document": document})
    if wanted in {"json", "html"}:
        filename = f"privacy-request-{row.pk}-answer.{wanted}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
