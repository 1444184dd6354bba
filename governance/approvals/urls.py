"""API routes (mounted under /api/v1/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from governance.approvals import policy_apis, release_apis

urlpatterns: list[URLPattern] = [
    path("policies", policy_apis.PolicyCollectionApi.as_view(), name="policies"),
    path("policies/<slug:name>", policy_apis.PolicyDetailApi.as_view(), name="policy"),
    path(
        "policies/<slug:name>/versions",
        policy_apis.PolicyVersionCollectionApi.as_view(),
        name="policy-versions",
    ),
    path("releases", release_apis.ReleaseCollectionApi.as_view(), name="releases"),
    path("releases/<str:release_id>", release_apis.ReleaseDetailApi.as_view(), name="release"),
    path(
        "releases/<str:release_id>/withdraw",
        release_apis.ReleaseWithdrawApi.as_view(),
        name="release-withdraw",
    ),
    path("releases/<str:release_id>/grant", release_apis.ReleaseGrantApi.as_view(), name="release-grant"),
    path(
        "releases/<str:release_id>/signatures",
        release_apis.SignatureCollectionApi.as_view(),
        name="release-signatures",
    ),
    path(
        "releases/<str:release_id>/signatures/<str:signature_id>/revoke",
        release_apis.SignatureRevokeApi.as_view(),
        name="release-signature-revoke",
    ),
    path("signatures", release_apis.SignatureHistoryApi.as_view(), name="signatures"),
    path("grants/public-key", policy_apis.GrantPublicKeyApi.as_view(), name="grant-public-key"),
]
