"""Web pages (mounted at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, path

from governance.consent import pages

urlpatterns: list[URLPattern] = [
    path("privacy/subject/", pages.subject_history_page, name="privacy-subject-page"),
    path("privacy/requests/", pages.open_requests_page, name="privacy-requests-page"),
]
