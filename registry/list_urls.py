"""Console list pages of the catalog (mounted at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, path

from registry import list_pages

urlpatterns: list[URLPattern] = [
    path("models/", list_pages.model_list_page, name="model-pages"),
    path("datasets/", list_pages.dataset_list_page, name="dataset-pages"),
    path("runs/", list_pages.run_list_page, name="run-pages"),
    path("deployments/", list_pages.deployment_list_page, name="deployment-pages"),
]
