from __future__ import annotations

from django.urls import path

from governance.documentation import apis

urlpatterns = [
    path(
        "reports/technical-documentation",
        apis.TechnicalDocumentationApi.as_view(),
        name="technical-documentation",
    )
]
