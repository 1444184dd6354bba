from __future__ import annotations

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "governance.approvals"
    label = "approvals"
    verbose_name = "Release approvals"

    def ready(self) -> None:
        from governance.approvals import keys  # noqa: F401  (registers the signing-key system check)
