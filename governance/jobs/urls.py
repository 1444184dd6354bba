"""API routes (mounted under /api/v1/)."""

from __future__ import annotations

from django.urls import path

from governance.jobs import apis, deployment_apis

urlpatterns = [
    path("deployments", deployment_apis.DeploymentCollectionApi.as_view(), name="deployments"),
    path("releases/<str:release_id>/run", apis.ReleaseRunApi.as_view(), name="release-run"),
    path("jobs/<int:job_id>", apis.JobDetailApi.as_view(), name="job"),
    path("deployments/<str:environment>/<str:model>/predict", apis.PredictApi.as_view(), name="predict"),
    path(
        "deployments/<str:environment>/<str:model>/stop",
        apis.DeploymentStopApi.as_view(),
        name="deployment-stop",
    ),
]
