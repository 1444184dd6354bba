"""Web pages (mounted at the site root)."""

from __future__ import annotations

from django.urls import URLPattern, path

from governance.approvals import pages

urlpatterns: list[URLPattern] = [
    path("approvals/", pages.approval_queue_page, name="approval-queue"),
    path("approvals/signatures/", pages.signature_history_page, name="approval-signatures"),
    path("approvals/<int:release_id>/", pages.release_page, name="approval-release"),
    path("approvals/<int:release_id>/sign", pages.release_sign_page, name="approval-sign"),
    path(
        "approvals/<int:release_id>/signatures/<int:signature_id>/revoke",
        pages.signature_revoke_page,
        name="approval-revoke",
    ),
]
