from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager


class User(AbstractUser):
    """A person or a machine (pipeline) account. Roles are the Django groups named in ``roles.Role``.

    ``full_name`` is the printed name that e-signatures show (21 CFR Part 11 §11.50(a)(1)).
    """

    full_name = models.CharField(max_length=200, blank=True)

    def role_names(self) -> list[str]:
        return sorted(group.name for group in self.groups.all())

    def __str__(self) -> str:
        return self.username


class ApiTokenManager(APIKeyManager):
    def get_usable_keys(self) -> models.QuerySet[ApiToken]:
        # Authentication reads the token's user next: one query for both, on every API request.
        return super().get_usable_keys().select_related("user")


class ApiToken(AbstractAPIKey):
    """An API token of a user: stored as a SHA-512 digest, shown in clear once, at issue.

    The public ``prefix`` identifies a token in lists, logs and the audit log.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    objects: ClassVar[ApiTokenManager] = ApiTokenManager()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API token"
        verbose_name_plural = "API tokens"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(revoked=False) | models.Q(revoked_at__isnull=False),
                name="apitoken_revoked_has_time",
            )
        ]


class SigningLockout(models.Model):
    """A person's e-signature lock-out state (21 CFR 11.300(d)): wrong passwords counted, and the lock.

    The row is the unit of serialisation: every signing attempt of one person locks it (SELECT ... FOR
    UPDATE on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers anyway) while it is decided,
    so N concurrent guesses are judged one after another and at most SIGNING_MAX_FAILURES are heard.
    """

    user = models.OneToOneField(User, on_delete=models.PROTECT, primary_key=True, related_name="+")
    failures = models.PositiveIntegerField(default=0)
    counting_since = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"signing lock-out state of user {self.user_id}"


class LoginFailureTally(models.Model):
    """Failed sign-ins of one subject in the current window, counted here and audited in aggregate.

    ``subject`` is ``username:<keyed hash of the attempted name>`` or ``address:<keyed hash of the
    client address>`` (attempts refused while an address is locked out count against the address).
    The audit log gets an entry at the first failure of a window and at each power of ten, and one per
    lock-out, so a thousand guesses append a handful of entries, not a thousand.
    """

    subject = models.CharField(max_length=80, primary_key=True)
    window_started_at = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)
    audited_failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(db_index=True)
    locked_out_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        since = f"{self.window_started_at:%Y-%m-%d %H:%M} UTC"
        return f"{self.failures} failed sign-ins of {self.subject} since {since}"
