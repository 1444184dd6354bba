from __future__ import annotations

from django.apps import AppConfig


class MlflowApiConfig(AppConfig):
    name = "governance.mlflow_api"
    label = "mlflow_api"
    verbose_name = "MLflow-compatible registry API"

    def ready(self) -> None:
        # The registry decides which alias names are governed but sits below the approvals app whose
        # deploy policies add names; this app sees both floors and hands the policies' names down.
        # In ready(), not at the top: both modules import models, not loadable before the app registry.
        from governance.mlflow_api.selectors import policy_governed_names
        from registry.selectors.aliases import governed_names_source

        governed_names_source(policy_governed_names)
