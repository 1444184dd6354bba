from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "governance.jobs"
    label = "jobs"
    verbose_name = "Training and deploy jobs"
