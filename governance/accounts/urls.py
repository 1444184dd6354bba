from __future__ import annotations

from django.urls import path

from governance.accounts import apis

urlpatterns = [
    path("me", apis.MeApi.as_view(), name="me"),
    path("tokens", apis.TokenListApi.as_view(), name="token-list"),
    path("tokens/issue", apis.TokenIssueApi.as_view(), name="token-issue"),
    path("tokens/<str:prefix>/revoke", apis.TokenRevokeApi.as_view(), name="token-revoke"),
]
