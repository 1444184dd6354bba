from __future__ import annotations

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "governance.approvals"
    label = "approvals"
    verbose_name = "Release approvals"

    def ready(self) -> None:
        # In ready(), not at the top: this module is imported while Django loads the app registry, and
        # these import models (not loadable before then).
        from governance.approvals import keys  # noqa: F401  (registers the signing-key system check)
        from governance.approvals.reauth import signing_password_confirm
        from governance.approvals.selectors import approvals_for_nodes
        from governance.consent.reauth import password_confirm_register
        from registry.reports.assemble import approvals_source

        approvals_source(approvals_for_nodes)  # the lineage report's approvals section (registry's hook)
        password_confirm_register(signing_password_confirm)  # privacy request steps (consent's hook)
