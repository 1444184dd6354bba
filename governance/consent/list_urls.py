"""The privacy request list (mounted at the site root, before consent's other pages)."""

from __future__ import annotations

from django.urls import URLPattern, path

from governance.consent import list_pages

urlpatterns: list[URLPattern] = [
    path("privacy/requests/", list_pages.privacy_request_list_page, name="privacy-requests-list"),
]
