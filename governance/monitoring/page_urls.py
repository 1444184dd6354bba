"""Web pages (mounted at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, path

from governance.monitoring import pages

urlpatterns: list[URLPattern] = [
    path("deployments/<str:environment>/<str:model>/", pages.deployment_page, name="monitoring-page"),
]
