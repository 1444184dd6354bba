"""Model versions: list, add (upload or reference) and read."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.api import MethodRoles, must_exist, paginated, valid
from governance.core.errors import NotFound, ValidationFailed
from governance.core.json_parser import LimitedJSONParser
from governance.core.pagination import CursorPagination
from governance.core.schema import paged
from governance.core.uploads import UploadTooLarge, upload_handler_install, upload_limit
from registry.apis.common import (
    READ_ROLES,
    READERS,
    WRITERS,
    CatalogModelVersionOutputSerializer,
    JsonValueField,
)
from registry.selectors import catalog as selectors
from registry.services import model_versions as services


class ModelVersionCollectionApi(APIView):
    """POST: Add the next version: upload the artifact (multipart field ``artifact``; stored
    content-addressed, verified; an artifact_sha256 sent with it must match) or reference it by artifact_uri +
    artifact_sha256 + artifact_size (unverified)."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": READERS, "POST": WRITERS}

    pagination_class = CursorPagination

    @extend_schema(
        responses=paged(CatalogModelVersionOutputSerializer), operation_id="v1_models_versions_list"
    )
    def get(self, request: Request, name: str) -> Response:
        rows = selectors.model_version_list(model=selectors.model_get(name=name))
        return paginated(request, rows, CatalogModelVersionOutputSerializer, view=self, ordering="-version")

    parser_classes = [LimitedJSONParser, MultiPartParser, FormParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method == "POST":  # before authentication: a session's CSRF check reads the body
            upload_handler_install(request, "MAX_ARTIFACT_UPLOAD_BYTES")
        super().initial(request, *args, **kwargs)

    class ModelVersionCreateInputSerializer(serializers.Serializer[Any]):
        artifact = serializers.FileField(required=False, allow_empty_file=True)
        artifact_uri = serializers.CharField(required=False, max_length=1000, allow_blank=True, default="")
        artifact_sha256 = serializers.CharField(required=False, max_length=64, allow_blank=True, default="")
        artifact_size = serializers.IntegerField(required=False, min_value=0, allow_null=True, default=None)
        framework = serializers.CharField(required=False, max_length=100, allow_blank=True, default="")
        parameters = JsonValueField(kind=dict, required=False, default=dict)
        metrics = JsonValueField(kind=dict, required=False, default=dict)
        input_schema = JsonValueField(kind=list, required=False, default=list)
        run_id = serializers.UUIDField(required=False, allow_null=True, default=None)

    @extend_schema(
        request={
            "multipart/form-data": ModelVersionCreateInputSerializer,
            "application/json": ModelVersionCreateInputSerializer,
        },
        responses={201: CatalogModelVersionOutputSerializer},
    )
    def post(self, request: Request, name: str) -> Response:
        try:
            upload_limit(request, "MAX_ARTIFACT_UPLOAD_BYTES")
            data = valid(self.ModelVersionCreateInputSerializer, request.data)
        except UploadTooLarge as exc:
            _oversize_artifact_record(request, name, exc)
            raise
        model = selectors.model_get(name=name)
        run_id = data.pop("run_id")
        run = must_exist(lambda: selectors.run_get(run_id=run_id), field="run_id") if run_id else None
        artifact = data.pop("artifact", None)
        actor = actor_from_request(request)
        if artifact is not None:
            if data.pop("artifact_size") is not None:
                raise ValidationFailed("artifact_size: leave it out when uploading; the server measures it")
            expected = data.pop("artifact_sha256")
            version = services.model_version_upload(
                actor=actor, model=model, artifact=artifact, expected_sha256=expected, run=run, **data
            )
        else:
            version = services.model_version_create(actor=actor, model=model, run=run, **data)
        version = selectors.model_version_get(model_name=model.name, version=version.version)
        return Response(CatalogModelVersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)


def _oversize_artifact_record(request: Request, name: str, exc: UploadTooLarge) -> None:
    """An artifact refused for its size is audited like any artifact refused at the door (its bytes
    were never all received, so there is no SHA-256 to record); a model that does not exist has
    nothing to record it against."""
    try:
        model = selectors.model_get(name=name)
    except NotFound:
        return
    services.model_artifact_refusal_record(
        actor=actor_from_request(request), model=model, reason=exc.detail, sha256="", size=exc.received
    )


class ModelVersionDetailApi(APIView):
    permission_classes = [READ_ROLES]

    @extend_schema(responses=CatalogModelVersionOutputSerializer)
    def get(self, request: Request, name: str, version: str) -> Response:
        row = selectors.model_version_get(model_name=name, version=version)
        return Response(CatalogModelVersionOutputSerializer(row).data)
