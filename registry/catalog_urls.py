from __future__ import annotations

from django.urls import URLPattern, path

from governance.consent.apis.consent import EligibilityApi
from registry import apis, archive_apis

urlpatterns: list[URLPattern] = [
    path("models", apis.ModelCollectionApi.as_view(), name="models"),
    path("models/<str:name>", apis.ModelResourceApi.as_view(), name="model"),
    path("models/<str:name>/archive", apis.ModelArchiveApi.as_view(), name="model-archive"),
    path("models/<str:name>/versions", apis.ModelVersionCollectionApi.as_view(), name="model-versions"),
    path(
        "models/<str:name>/versions/<str:version>", apis.ModelVersionDetailApi.as_view(), name="model-version"
    ),
    path(
        "models/<str:name>/versions/<str:version>/archive",
        archive_apis.ModelVersionArchiveApi.as_view(),
        name="model-version-archive",
    ),
    path("datasets", apis.DatasetCollectionApi.as_view(), name="datasets"),
    # Dataset names may hold "/" (OpenLineage names paths so), hence <path:name>; the longer routes first.
    path(
        "datasets/<path:name>/versions/<str:version>/eligibility",
        EligibilityApi.as_view(),
        name="dataset-version-eligibility",
    ),
    path(
        "datasets/<path:name>/versions/<str:version>",
        apis.DatasetVersionDetailApi.as_view(),
        name="dataset-version",
    ),
    path(
        "datasets/<path:name>/versions", apis.DatasetVersionCollectionApi.as_view(), name="dataset-versions"
    ),
    path("datasets/<path:name>/archive", archive_apis.DatasetArchiveApi.as_view(), name="dataset-archive"),
    path("datasets/<path:name>", apis.DatasetDetailApi.as_view(), name="dataset"),
    path("runs", apis.RunCollectionApi.as_view(), name="runs"),
    path("runs/<str:run_id>", apis.RunDetailApi.as_view(), name="run"),
    path("deployments", apis.DeploymentCollectionApi.as_view(), name="deployments"),
    path("deployments/at", apis.DeploymentAtApi.as_view(), name="deployment-at"),
    path("deployments/<str:deployment_id>", apis.DeploymentDetailApi.as_view(), name="deployment"),
    path("deployments/<str:deployment_id>/end", apis.DeploymentEndApi.as_view(), name="deployment-end"),
]
