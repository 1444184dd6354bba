"""Web pages (mounted at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, path

from governance.jobs import pages

urlpatterns: list[URLPattern] = [
    path("jobs/", pages.job_list_page, name="job-pages"),
    path("jobs/<int:job_id>/", pages.job_page, name="job-page"),
]
