from __future__ import annotations

from django.urls import path

from registry import report_apis

urlpatterns = [path("reports/lineage", report_apis.LineageReportApi.as_view(), name="lineage-report")]
