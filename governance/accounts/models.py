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
