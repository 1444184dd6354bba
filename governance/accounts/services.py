"""Writes on people, roles and tokens; each one with exactly one audit entry in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import cast

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts.models import ApiToken, User
from governance.accounts.roles import STAFF_ROLES, validate_roles
from governance.errors import Conflict, NotFound, ValidationFailed

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


@transaction.atomic
def token_issue(
    *, actor: Actor, user: User, name: str = "", expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """Issue a token; the raw value is returned once and only its SHA-512 digest is kept."""
    name = (name or "token").strip()
    if len(name) > 50:
        raise ValidationFailed("name: at most 50 characters")
    expiry = None
    if expires_days is not None:
        if not 1 <= expires_days <= MAX_TOKEN_DAYS:
            raise ValidationFailed(f"expires_days must be between 1 and {MAX_TOKEN_DAYS}")
        expiry = timezone.now() + timedelta(days=expires_days)
    if not user.is_active:
        raise Conflict(f"user {user.username!r} is inactive; no token can be issued", code="user_inactive")
    created, raw = ApiToken.objects.create_key(user=user, name=name, expiry_date=expiry)
    token = cast(ApiToken, created)
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_ISSUE,
        target=Target.of("token", token.prefix),
        data={"user": str(user.pk), "name": name, "expires": expiry.isoformat() if expiry else None},
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
    token = tokens.first()
    if token is None:
        raise NotFound(f"no token with prefix {prefix!r}")
    changed = ApiToken.objects.filter(pk=token.pk, revoked=False).update(
        revoked=True, revoked_at=timezone.now()
    )
    if not changed:
        raise Conflict(f"token {prefix!r} is already revoked", code="token_revoked")
    audit_record(
        actor=actor,
        action=AuditAction.TOKEN_REVOKE,
        target=Target.of("token", prefix),
        data={"user": str(token.user_id)},
    )
    token.refresh_from_db()
    return token
