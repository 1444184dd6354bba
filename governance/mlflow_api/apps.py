from __future__ import annotations

from django.apps import AppConfig


class MlflowApiConfig(AppConfig):
    name = "governance.mlflow_api"
    label = "mlflow_api"
    verbose_name = "MLflow-compatible registry API"
