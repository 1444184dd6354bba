"""API routes (mounted under /api/v1/), included ahead of ``registry.catalog_urls`` so that a dataset
version's eligibility route is matched before the registry's catch-all ``datasets/<path:name>``."""

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
    path(
        "datasets/<path:name>/versions/<str:version>/eligibility",
        consent.EligibilityApi.as_view(),
        name="dataset-version-eligibility",
    ),
    path("records-of-processing", requests.RecordsOfProcessingApi.as_view(), name="records-of-processing"),
]
