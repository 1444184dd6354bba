from __future__ import annotations

from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "governance.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"
