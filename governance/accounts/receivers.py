"""Sign-ins and failed sign-ins into the audit log (Django's auth signals are the only hook for them)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.pseudonyms import keyed_hash


def _login(sender: Any, request: Any, user: Any, **_: Any) -> None:
    with transaction.atomic():
        audit_record(
            actor=Actor.for_user(user), action=AuditAction.AUTH_LOGIN, target=Target.of("user", user.pk)
        )


def _logout(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is None:
        return
    with transaction.atomic():
        audit_record(
            actor=Actor.for_user(user), action=AuditAction.AUTH_LOGOUT, target=Target.of("user", user.pk)
        )


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    # The attempted name may be anyone's personal data (or a mistyped password): only a keyed hash.
    attempted = str(credentials.get("username", ""))
    with transaction.atomic():
        audit_record(
            actor=Actor.anonymous(),
            action=AuditAction.AUTH_LOGIN_FAILED,
            target=Target.of("username", keyed_hash(attempted, domain="username")),
        )


def connect() -> None:
    user_logged_in.connect(_login, dispatch_uid="audit_login")
    user_logged_out.connect(_logout, dispatch_uid="audit_logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit_login_failed")
