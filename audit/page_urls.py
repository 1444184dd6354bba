"""Web pages (mounted at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, path

from audit import pages

urlpatterns: list[URLPattern] = [
    path("audit/", pages.audit_log_page, name="audit-log-page"),
    path("audit/<int:index>/", pages.audit_entry_page, name="audit-entry-page"),
]
