"""The search page (mounted at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, path

from governance.consent import search_page

urlpatterns: list[URLPattern] = [
    path("search/", search_page.search_page, name="search-page"),
]
