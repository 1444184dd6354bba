from __future__ import annotations

from django.apps import AppConfig


class DocumentationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "governance.documentation"
    label = "documentation"
    verbose_name = "Technical documentation"
