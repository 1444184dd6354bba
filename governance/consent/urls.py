"""API routes (mounted under /api/v1/). The eligibility route lives in ``registry.catalog_urls``,
ahead of the catch-all ``datasets/<path:name>``."""

from __future__ import annotations

from django.urls import URLPattern, path

from governance.consent.apis import consent, requests

urlpatterns: list[URLPattern] = [
    path("consent", consent.ConsentRecordApi.as_view(), name="consent-record"),
    # Before consent/<subject_id>: "import" is this route's, not a subject's.
    path("consent/import", consent.ConsentImportApi.as_view(), name="consent-import"),
    path("consent/<path:subject_id>", consent.ConsentStateApi.as_view(), name="consent-state"),
    path("consent-notices", consent.NoticeCollectionApi.as_view(), name="consent-notices"),
    path("privacy-requests", requests.PrivacyRequestCollectionApi.as_view(), name="privacy-requests"),
    path(
        "privacy-requests/<str:request_id>",
        requests.PrivacyRequestDetailApi.as_view(),
        name="privacy-request",
    ),
    path(
        "privacy-requests/<str:request_id>/status",
        requests.PrivacyRequestStatusApi.as_view(),
        name="privacy-request-status",
    ),
    path(
        "privacy-requests/<str:request_id>/impact",
        requests.PrivacyRequestImpactApi.as_view(),
        name="privacy-request-impact",
    ),
    path(
        "privacy-requests/<str:request_id>/erase-rows",
        requests.PrivacyRequestEraseRowsApi.as_view(),
        name="privacy-request-erase-rows",
    ),
    path(
        "privacy-requests/<str:request_id>/exemptions",
        requests.ErasureExemptionApi.as_view(),
        name="privacy-request-exemptions",
    ),
    path("records-of-processing", requests.RecordsOfProcessingApi.as_view(), name="records-of-processing"),
]
