from __future__ import annotations

from django.urls import URLPattern, path

from registry import lineage_apis

urlpatterns: list[URLPattern] = [
    path("lineage", lineage_apis.LineageApi.as_view(), name="lineage"),
]
