"""Sign-in lock-out (django-axes) for the HTML and admin login, and failed sign-ins audited in aggregate.

django-axes counts failed sign-ins per attempted name and per client address and refuses both once
either passes LOGIN_MAX_FAILURES within LOGIN_LOCKOUT_SECONDS (OWASP ASVS 4.0 §2.2.1). Attempts
refused while locked are not counted by axes and do not extend the lock.

The audit log must not grow by one entry per guess (anyone could flood it): failures are tallied
per subject in ``LoginFailureTally`` and audited at the first failure of a window, at each power of
ten (10, 100, ...) and, with the count, at the first failure of the next window; every lock-out is
audited once. Names and addresses reach the log and axes' table only as keyed hashes.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts.models import LoginFailureTally
from governance.core.pseudonyms import keyed_hash

logger = logging.getLogger(__name__)

# The names of the lock-out parameters as django-axes spells them, and how a subject is named here.
SUBJECT_KINDS = {"username": "username", "ip_address": "address"}


def attempted_name(username: str) -> str:
    """The keyed hash axes stores and counts instead of the attempted name (it may be a mistyped
    password, or anyone's personal data)."""
    return keyed_hash(username, domain="username")


def username_subject(username: str) -> str:
    return f"username:{attempted_name(username)}"


def axes_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """AXES_USERNAME_CALLABLE: the attempted name, hashed."""
    name = (credentials or {}).get("username")
    if name is None and request is not None:
        name = request.POST.get("username", "")
    return attempted_name(str(name or ""))


def client_address(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the address a sign-in is counted against. Behind a proxy
    (TRUST_PROXY_HEADERS) every request comes from the proxy, so the address it appended last to
    X-Forwarded-For; earlier entries are the caller's to forge and are ignored. Otherwise the peer."""
    peer = request.META.get("REMOTE_ADDR")
    if not settings.TRUST_PROXY_HEADERS:
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:
        return peer


class LoginLockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]  # axes ships no type hints
    """axes' check before the password is looked at. A call without a request (the test client's
    ``login()``, a shell) has no client to count and is left to the next backend."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        super().authenticate(request, username, password, **kwargs)  # raises when the client is locked out
        return None


# --- Which locks hold -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lock:
    parameter: str  # "username" or "ip_address"
    kind: str  # "username" or "address"
    hashed: str
    failures: int
    until: datetime

    @property
    def subject(self) -> str:
        return f"{self.kind}:{self.hashed}"


def _cool_off() -> timedelta:
    return timedelta(seconds=settings.AXES_COOLOFF_TIME.total_seconds())


def locks_for(request: HttpRequest, credentials: dict[str, Any] | None) -> list[Lock]:
    """The lock-outs that hold for this request's name and address now, the name's first."""
    now = timezone.now()
    values = {
        "username": axes_username(request, credentials),
        "ip_address": str(getattr(request, "axes_ip_address", None) or ""),
    }
    locks = []
    for parameter in ("username", "ip_address"):
        if parameter not in settings.AXES_LOCKOUT_PARAMETERS or not values[parameter]:
            continue
        seen = AccessAttempt.objects.filter(
            **{parameter: values[parameter]}, attempt_time__gte=now - _cool_off()
        ).aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        if (seen["failures"] or 0) >= settings.AXES_FAILURE_LIMIT:
            kind = SUBJECT_KINDS[parameter]
            hashed = (
                values[parameter] if parameter == "username" else keyed_hash(values[parameter], domain=kind)
            )
            locks.append(Lock(parameter, kind, hashed, seen["failures"], seen["last"] + _cool_off()))
    return locks


# --- Aggregate audit ----------------------------------------------------------------------------------


def _is_power_of_ten(number: int) -> bool:
    while number >= 10 and number % 10 == 0:
        number //= 10
    return number == 1


def _tally(subject: str, now: datetime) -> tuple[LoginFailureTally, bool]:
    return LoginFailureTally.objects.select_for_update().get_or_create(
        subject=subject, defaults={"window_started_at": now, "last_failure_at": now}
    )


@transaction.atomic
def login_failure_count(*, subject: str, now: datetime | None = None) -> int:
    """Count one failed sign-in of ``subject`` ("username:<hash>" or "address:<hash>"); audit it only
    at the first failure of a window, at 10, 100, 1000, ..., and report the rest of the last window
    with the first failure of the next. Returns the count in the current window."""
    now = now or timezone.now()
    tally, created = _tally(subject, now)
    previous = None
    if tally.window_started_at <= now - _cool_off():
        if tally.failures > tally.audited_failures:
            previous = {"since": tally.window_started_at.isoformat(), "failures": tally.failures}
        tally.window_started_at, tally.failures, tally.audited_failures = now, 0, 0
    tally.failures += 1
    tally.last_failure_at = now
    if tally.failures == 1 or _is_power_of_ten(tally.failures):
        tally.audited_failures = tally.failures
        kind, _, hashed = subject.partition(":")
        data: dict[str, Any] = {"failures": tally.failures, "since": tally.window_started_at.isoformat()}
        if previous is not None:
            data["previous_window"] = previous
        audit_record(
            actor=Actor.anonymous(),
            action=AuditAction.AUTH_LOGIN_FAILED,
            target=Target.of(kind, hashed),
            data=data,
        )
    tally.save()
    if created:
        # Tallies of subjects silent for two windows are of no further use: keep the table small
        # however many names an attacker tries.
        LoginFailureTally.objects.filter(last_failure_at__lt=now - 2 * _cool_off()).delete()
    return tally.failures


@transaction.atomic
def login_lockout_record(*, lock: Lock, now: datetime | None = None) -> bool:
    """Audit a sign-in lock-out once (not for each attempt it refuses); True if this call did."""
    now = now or timezone.now()
    tally, _ = _tally(lock.subject, now)
    if tally.locked_out_at is not None and tally.locked_out_at > now - _cool_off():
        return False
    tally.locked_out_at = now
    tally.save(update_fields=["locked_out_at"])
    until = lock.until.isoformat()
    audit_record(
        actor=Actor.anonymous(),
        action=AuditAction.AUTH_LOGIN_LOCKED_OUT,
        target=Target.of(lock.kind, lock.hashed),
        data={"by": lock.parameter, "failures": lock.failures, "locked_until": until},
    )
    logger.warning(
        "Sign-in locked after repeated failures",
        extra={"alert": "login_locked", "by": lock.parameter, "locked_until": until},
    )
    return True


# --- Signal receivers (connected in receivers.connect) -----------------------------------------------


def on_login_failed(credentials: dict[str, Any], request: HttpRequest | None) -> None:
    # axes' backend flags a request it refused before the password was looked at; its handler sets
    # the failure count only on requests it counted. Either receiver order gives the same answer.
    refused_unheard = (
        request is not None
        and getattr(request, "axes_locked_out", False)
        and getattr(request, "axes_failures_since_start", None) is None
    )
    subject = username_subject(str(credentials.get("username", "")))
    if refused_unheard and request is not None:
        locks = locks_for(request, credentials)
        if locks:
            # Counted against what is locked: a thousand names tried from a locked address are one
            # subject, not a thousand.
            subject = locks[0].subject
    login_failure_count(subject=subject)


def on_locked_out(request: HttpRequest | None) -> None:
    if request is None:
        return
    for lock in locks_for(request, getattr(request, "axes_credentials", None)):
        login_lockout_record(lock=lock)


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with when it ends, as ``{"error", "detail"}`` JSON for a client
    asking for JSON, otherwise a page."""
    locks = locks_for(request, credentials)
    until = max((lock.until for lock in locks), default=timezone.now() + _cool_off())
    seconds = max(1, int((until - timezone.now()).total_seconds()))
    detail = (
        f"too many failed sign-ins for this name or from this address; sign-in is locked until "
        f"{until:%Y-%m-%d %H:%M:%S} UTC. Try again then, or ask an administrator to unlock your account"
    )
    accept = request.headers.get("Accept", "")
    if request.headers.get("X-Requested-With") == "XMLHttpRequest" or (
        "application/json" in accept and "text/html" not in accept
    ):
        response: HttpResponse = JsonResponse({"error": "login_locked", "detail": detail}, status=429)
    else:
        response = render(
            request, "accounts/login_locked.html", {"until": until, "detail": detail}, status=429
        )
    response["Retry-After"] = str(seconds)
    return response
