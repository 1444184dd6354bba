from __future__ import annotations

from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "governance.consent"
    label = "consent"
    verbose_name = "Consent and data-subject rights"

    def ready(self) -> None:
        # Imported here, not at the top: models and selectors load only once the app registry is ready.
        from governance.consent import access_logs
        from governance.consent.selectors import erasure_block_reason
        from governance.consent.selectors.blocks import erasure_blocks_for
        from registry.reports.erasure import erasure_blocks_source
        from registry.services.deployments import deployment_gate

        access_logs.install()
        # GDPR Art. 17: no version trained on an erased subject's data is deployed (registry's hook).
        deployment_gate(erasure_block_reason, code="affected_by_erasure")
        erasure_blocks_source(erasure_blocks_for)  # notices on registry pages and reports (registry's hook)
