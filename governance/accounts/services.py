"""Writes on people, roles and tokens; each one with exactly one audit entry in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts.models import ApiToken, User
from governance.accounts.token_cache import token_cache_clear
from governance.core.errors import Conflict, NotFound, ValidationFailed
from governance.core.roles import STAFF_ROLES, validate_roles

MAX_TOKEN_DAYS = 3650


def _roles_or_error(roles: Iterable[str]) -> list[str]:
    try:
        wanted = validate_roles(roles)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    if not wanted:
        raise ValidationFailed("give at least one role")
    return wanted


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    username: str,
    roles: Iterable[str],
    password: str | None = None,
    full_name: str = "",
) -> User:
    """Create a person or machine account with its roles. No password means no interactive login."""
    wanted = _roles_or_error(roles)
    username = username.strip()
    if not username:
        raise ValidationFailed("username must not be empty")
    user = User(username=username, full_name=full_name.strip(), is_staff=bool(STAFF_ROLES & set(wanted)))
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationFailed("password: " + " ".join(exc.messages)) from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise Conflict(f"a user named {username!r} already exists", code="user_exists") from exc
    user.groups.set(Group.objects.filter(name__in=wanted))
    audit_record(
        actor=actor,
        action=AuditAction.USER_CREATE,
        target=Target.of("user", user.pk),
        data={"roles": wanted, "interactive_login": bool(password)},
    )
    return user


@transaction.atomic
def user_set_roles(*, actor: Actor, user: User, roles: Iterable[str]) -> User:
    wanted = _roles_or_error(roles)
    before = user.role_names()
    user.groups.set(Group.objects.filter(name__in=wanted))
    User.objects.filter(pk=user.pk).update(is_staff=bool(STAFF_ROLES & set(wanted)))
    audit_record(
        actor=actor,
        action=AuditAction.USER_ROLES_CHANGE,
        target=Target.of("user", user.pk),
        data={"before": before, "after": wanted},
    )
    user.refresh_from_db()
    return user


def _token_expiry(expires_days: int | None, issued_with: ApiToken | None) -> datetime:
    """When a new token expires: after ``expires_days``, or ``API_TOKEN_DEFAULT_DAYS`` when none is asked.

    A token never outlives the token it is issued with: a leaked token must not be able to extend
    itself. The default is cut to the issuing token's expiry; an explicit longer lifetime is refused.
    """
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise ValidationFailed(f"expires_days must be between 1 and {MAX_TOKEN_DAYS}")
    now = timezone.now()
    expiry = now + timedelta(
        days=expires_days if expires_days is not None else settings.API_TOKEN_DEFAULT_DAYS
    )
    limit = issued_with.expiry_date if issued_with is not None else None
    if limit is not None and expiry > limit:
        if expires_days is not None:
            raise ValidationFailed(
                f"expires_days: a token cannot outlive the token it is issued with, which expires at "
                f"{limit.isoformat()}; ask for at most {max((limit - now).days, 0)} days, or sign in "
                "to issue a longer-lived one"
            )
        expiry = limit
    return expiry


@transaction.atomic
def token_issue(
    *,
    actor: Actor,
    user: User,
    name: str = "",
    expires_days: int | None = None,
    issued_with: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token; the raw value is returned once and only its SHA-512 digest is kept. Every token
    expires (``_token_expiry``); ``issued_with`` is the token the request came with, if any."""
    name = (name or "token").strip()
    if len(name) > 50:
        raise ValidationFailed("name: at most 50 characters")
    expiry = _token_expiry(expires_days, issued_with)
    if not user.is_active:
        raise Conflict(f"user {user.username!r} is inactive; no token can be issued", code="user_inactive")
    created, raw = ApiToken.objects.create_key(user=user, name=name, expiry_date=expiry)
    token = cast(ApiToken, created)
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_ISSUE,
        target=Target.of("token", token.prefix),
        data={"user": str(user.pk), "name": name, "expires": expiry.isoformat()},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor: Actor, prefix: str, owner: User | None = None) -> ApiToken:
    """Revoke a token by its public prefix; ``owner`` limits it to that user's tokens.

    A conditional UPDATE: revoking twice is a 409, never a second audit entry.
    """
    tokens = ApiToken.objects.filter(prefix=prefix)
    if owner is not None:
        tokens = tokens.filter(user=owner)
    token: ApiToken | None = tokens.first()
    if token is None:
        raise NotFound(f"no token with prefix {prefix!r}")
    changed = ApiToken.objects.filter(pk=token.pk, revoked=False).update(
        revoked=True, revoked_at=timezone.now()
    )
    if not changed:
        raise Conflict(f"token {prefix!r} is already revoked", code="token_revoked")
    # An UPDATE sends no signal. Clear this process's memory now and again once the revocation is
    # committed: a request on another thread could re-remember the token in between. Other processes
    # honour it within the cache's time.
    token_cache_clear()
    transaction.on_commit(token_cache_clear)
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_REVOKE,
        target=Target.of("token", prefix),
        data={"user": str(token.user_id)},
    )
    token.refresh_from_db()
    return token
