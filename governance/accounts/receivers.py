"""Sign-ins, failed sign-ins and lock-outs into the audit log (Django's and axes' signals are the only
hook for them)."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts import login_lockout
from governance.accounts.models import ApiToken, User
from governance.accounts.token_cache import token_cache_clear


def _login(sender: Any, request: Any, user: Any, **_: Any) -> None:
    audit_record(actor=Actor.for_user(user), action=AuditAction.AUTH_LOGIN, target=Target.of("user", user.pk))


def _logout(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is None:
        return
    audit_record(
        actor=Actor.for_user(user), action=AuditAction.AUTH_LOGOUT, target=Target.of("user", user.pk)
    )


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    # Counted, and audited in aggregate (login_lockout): one entry per guess would let anyone flood the log.
    login_lockout.on_login_failed(credentials, request)


def _locked_out(sender: Any, request: Any = None, **_: Any) -> None:
    login_lockout.on_locked_out(request)


def _identity_changed(sender: Any, **_: Any) -> None:
    # A token, a user or a user's roles changed: this process trusts no token it verified before, now and
    # once the change is committed (a request on another thread may verify the old row in between).
    token_cache_clear()
    transaction.on_commit(token_cache_clear)


def connect() -> None:
    for model in (User, ApiToken):
        post_save.connect(_identity_changed, sender=model, dispatch_uid=f"token_cache_save_{model.__name__}")
        post_delete.connect(
            _identity_changed, sender=model, dispatch_uid=f"token_cache_delete_{model.__name__}"
        )
    m2m_changed.connect(_identity_changed, sender=User.groups.through, dispatch_uid="token_cache_roles")
    user_logged_in.connect(_login, dispatch_uid="audit_login")
    user_logged_out.connect(_logout, dispatch_uid="audit_logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit_login_failed")
    user_locked_out.connect(_locked_out, dispatch_uid="audit_login_locked_out")
