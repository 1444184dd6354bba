from __future__ import annotations

from django.urls import path, re_path

from governance.mlflow_api import apis, errors

app_name = "mlflow_api"

urlpatterns = [
    path("registered-models/create", apis.ModelCreateApi.as_view(), name="model-create"),
    path("registered-models/get", apis.ModelGetApi.as_view(), name="model-get"),
    path("registered-models/search", apis.ModelSearchApi.as_view(), name="model-search"),
    path("registered-models/update", apis.ModelUpdateApi.as_view(), name="model-update"),
    path("registered-models/rename", apis.ModelRenameApi.as_view(), name="model-rename"),
    path("registered-models/delete", apis.ModelDeleteApi.as_view(), name="model-delete"),
    path("registered-models/set-tag", apis.ModelTagSetApi.as_view(), name="model-set-tag"),
    path("registered-models/delete-tag", apis.ModelTagDeleteApi.as_view(), name="model-delete-tag"),
    path("registered-models/alias", apis.AliasApi.as_view(), name="model-alias"),
    path(
        "registered-models/get-latest-versions",
        apis.LatestVersionsApi.as_view(),
        name="model-latest-versions",
    ),
    path("model-versions/create", apis.VersionCreateApi.as_view(), name="version-create"),
    path("model-versions/get", apis.VersionGetApi.as_view(), name="version-get"),
    path("model-versions/search", apis.VersionSearchApi.as_view(), name="version-search"),
    path("model-versions/update", apis.VersionUpdateApi.as_view(), name="version-update"),
    path("model-versions/delete", apis.VersionDeleteApi.as_view(), name="version-delete"),
    path("model-versions/set-tag", apis.VersionTagSetApi.as_view(), name="version-set-tag"),
    path("model-versions/delete-tag", apis.VersionTagDeleteApi.as_view(), name="version-delete-tag"),
    path("model-versions/transition-stage", apis.VersionStageApi.as_view(), name="version-transition-stage"),
    path(
        "model-versions/get-download-uri", apis.VersionDownloadUriApi.as_view(), name="version-download-uri"
    ),
    re_path(r"^(?P<rest>.*)$", errors.endpoint_not_found, name="endpoint-not-found"),
]
