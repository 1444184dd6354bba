from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "governance.accounts"
    label = "accounts"
    verbose_name = "People, roles and API tokens"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from governance.accounts import receivers, schema  # noqa: F401  (registers the extension)
        from governance.core import roles

        post_migrate.connect(roles.sync_role_permissions_after_migrate, dispatch_uid="sync_role_permissions")
        receivers.connect()
