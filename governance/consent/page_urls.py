"""Web pages (mounted at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, path

from governance.consent import pages, request_pages

urlpatterns: list[URLPattern] = [
    path("privacy/subject/", pages.subject_history_page, name="privacy-subject-page"),
    path(
        "privacy/requests/<int:request_id>/",
        request_pages.privacy_request_page,
        name="privacy-request-page",
    ),
    path(
        "privacy/requests/<int:request_id>/response",
        request_pages.privacy_request_response_page,
        name="privacy-request-response",
    ),
    path(
        "privacy/requests/<int:request_id>/<slug:action>",
        request_pages.privacy_request_action,
        name="privacy-request-action",
    ),
]
