from __future__ import annotations

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "governance.consent"
    label = "consent"
    verbose_name = "Consent and data-subject rights"

    def ready(self) -> None:
        from governance.consent import access_logs

        access_logs.install()
