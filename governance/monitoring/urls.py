"""API routes (mounted under /api/v1/)."""

from __future__ import annotations

from django.urls import path

from governance.monitoring import apis

urlpatterns = [
    path(
        "deployments/<str:environment>/<str:model>/monitoring",
        apis.MonitoringDetailApi.as_view(),
        name="monitoring",
    ),
    path(
        "deployments/<str:environment>/<str:model>/monitoring/check",
        apis.MonitoringCheckApi.as_view(),
        name="monitoring-check",
    ),
    path(
        "deployments/<str:environment>/<str:model>/labels",
        apis.LabelsRecordApi.as_view(),
        name="monitoring-labels",
    ),
]
