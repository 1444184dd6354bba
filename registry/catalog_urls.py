from __future__ import annotations

from django.urls import URLPattern, path

from registry import archive_apis
from registry.apis import columns, datasets, deployments, models, runs, versions

urlpatterns: list[URLPattern] = [
    path("models", models.ModelCollectionApi.as_view(), name="models"),
    path("models/<str:name>", models.ModelResourceApi.as_view(), name="model"),
    path("models/<str:name>/archive", models.ModelArchiveApi.as_view(), name="model-archive"),
    path("models/<str:name>/versions", versions.ModelVersionCollectionApi.as_view(), name="model-versions"),
    path(
        "models/<str:name>/versions/<str:version>",
        versions.ModelVersionDetailApi.as_view(),
        name="model-version",
    ),
    path(
        "models/<str:name>/versions/<str:version>/archive",
        archive_apis.ModelVersionArchiveApi.as_view(),
        name="model-version-archive",
    ),
    path("datasets", datasets.DatasetCollectionApi.as_view(), name="datasets"),
    # Dataset names may hold "/" (OpenLineage names paths so), hence <path:name>; the longer routes first
    # (consent's .../versions/<version>/eligibility is included ahead of these in governance/urls.py).
    path(
        "datasets/<path:name>/versions/<str:version>",
        datasets.DatasetVersionDetailApi.as_view(),
        name="dataset-version",
    ),
    path(
        "datasets/<path:name>/versions",
        datasets.DatasetVersionCollectionApi.as_view(),
        name="dataset-versions",
    ),
    path("datasets/<path:name>/archive", archive_apis.DatasetArchiveApi.as_view(), name="dataset-archive"),
    path("datasets/<path:name>/columns", columns.DatasetColumnsApi.as_view(), name="dataset-columns"),
    path("datasets/<path:name>", datasets.DatasetDetailApi.as_view(), name="dataset"),
    path("runs", runs.RunCollectionApi.as_view(), name="runs"),
    path("runs/<str:run_id>", runs.RunDetailApi.as_view(), name="run"),
    # "deployments" (list here, record under a release) is governance.jobs.urls'.
    path("deployments/at", deployments.DeploymentAtApi.as_view(), name="deployment-at"),
    path("deployments/<str:deployment_id>", deployments.DeploymentDetailApi.as_view(), name="deployment"),
    path(
        "deployments/<str:deployment_id>/end", deployments.DeploymentEndApi.as_view(), name="deployment-end"
    ),
]
