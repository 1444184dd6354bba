from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from rest_framework_api_key.models import APIKey

from audit.actors import Actor
from audit.admin_audit import AuditedModelAdmin, ReadOnlyModelAdmin
from governance.accounts import lockouts
from governance.accounts.models import ApiToken, User
from governance.core.errors import ApplicationError

# The library's own key model is unused: our tokens belong to users.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


@admin.register(User)
class UserAdmin(AuditedModelAdmin):
    """Name and active flag only; accounts and roles are made with ``adduser`` so they are audited."""

    list_display = ["username", "full_name", "is_active", "last_login"]
    search_fields = ["username", "full_name"]
    fields = ["username", "full_name", "is_active", "groups", "last_login", "date_joined"]
    readonly_fields = ["username", "groups", "last_login", "date_joined"]
    actions = ["unlock"]

    @admin.action(description="Unlock sign-in and signing for the selected people", permissions=["change"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        by = request.user
        if not isinstance(by, User):
            return
        for user in queryset:
            try:
                # One action and one audit entry per person, each in its own transaction.
                lockouts.user_unlock(actor=Actor.for_user(by), user=user, by=by)
            except ApplicationError as exc:
                self.message_user(request, f"{user.username}: {exc.detail}", messages.WARNING)
            else:
                self.message_user(request, f"{user.username}: sign-in and signing unlocked", messages.SUCCESS)

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyModelAdmin):
    list_display = ["prefix", "user", "name", "created", "expiry_date", "revoked"]
    list_filter = ["revoked"]
    exclude = ["id", "hashed_key"]
