"""The release list page (mounted at the site root, before the approval pages)."""

from __future__ import annotations

from django.urls import URLPattern, path

from governance.approvals import list_pages

urlpatterns: list[URLPattern] = [
    path("approvals/all/", list_pages.release_list_page, name="approval-list"),
]
