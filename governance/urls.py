from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from governance import health, pages
from governance.core import error_middleware
from governance.mlflow_api import errors as mlflow_errors
from registry import pages as registry_pages

api_v1 = [
    path("", include("governance.accounts.urls")),
    path("audit/", include("audit.urls")),
    # Consent's dataset-version eligibility route must be matched before registry's datasets/<path:name>.
    path("", include("governance.consent.urls")),
    path("", include("registry.catalog_urls")),
    path("", include("registry.lineage_urls")),
    path("", include("registry.report_urls")),
    path("", include("governance.documentation.urls")),
    path("", include("governance.approvals.urls")),
    path("", include("governance.jobs.urls")),
    path("", include("governance.monitoring.urls")),
]

# Every failure outside a DRF view's own handler: JSON under /api/, MLflow's shape under its prefix,
# the styled error page elsewhere (governance/core/error_middleware.py).
error_middleware.shape_register("/api/2.0/mlflow/", mlflow_errors.django_error_response)
handler400 = error_middleware.bad_request
handler403 = error_middleware.permission_denied
handler404 = error_middleware.page_not_found
handler500 = error_middleware.server_error

urlpatterns = [
    # The API first: Django tries patterns in order, and every pipeline call would otherwise be matched
    # against each page's pattern before its own (no page path starts with "api/" or "healthz").
    path("api/2.0/mlflow/", include("governance.mlflow_api.urls")),
    path("api/v1/", include(api_v1)),
    path("healthz", health.healthz, name="healthz"),
    path("", pages.home, name="home"),
    path("lineage/", registry_pages.lineage_page, name="lineage-page"),
    path("", include("registry.list_urls")),
    path("models/<slug:name>/", registry_pages.model_detail_page, name="model-page"),
    path("", include("governance.approvals.list_urls")),
    path("", include("governance.jobs.page_urls")),
    path("", include("governance.consent.search_urls")),
    path("", include("governance.consent.list_urls")),  # answers /privacy/requests/ before page_urls
    path("", include("audit.page_urls")),
    path("", include("governance.consent.page_urls")),
    path("", include("governance.approvals.page_urls")),
    path("", include("governance.monitoring.page_urls")),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin site, reports): ours, not a 404.
    path("favicon.ico", RedirectView.as_view(url="/static/console/favicon.svg", permanent=True)),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signed-out/", pages.signed_out, name="signed-out"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI and Redoc from drf-spectacular-sidecar (our static files); Swagger's start-up script is
    # served as a file (the split view), so neither page needs an inline script under the CSP.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="swagger-ui",
    ),
    path("api/redoc/", pages.redoc, name="redoc"),
]
