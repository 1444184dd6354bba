"""Training runs: list, record and read."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.api import MethodRoles, paginated, valid
from governance.core.pagination import CursorPagination
from governance.core.schema import paged
from registry.apis.common import (
    READ_ROLES,
    READERS,
    WRITERS,
    CatalogDatasetVersionRefSerializer,
    CatalogRunOutputSerializer,
)
from registry.selectors import catalog as selectors
from registry.services import runs as services


class RunCollectionApi(APIView):
    """POST: Record a training run: its job (upserted), the dataset versions it read, parameters, metrics."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": READERS, "POST": WRITERS}

    pagination_class = CursorPagination

    class RunListFilterSerializer(serializers.Serializer[Any]):
        job_namespace = serializers.CharField(required=False, max_length=200, allow_blank=True, default="")
        job_name = serializers.CharField(required=False, max_length=300, allow_blank=True, default="")

    @extend_schema(
        parameters=[RunListFilterSerializer],
        responses=paged(CatalogRunOutputSerializer),
        operation_id="v1_runs_list",
    )
    def get(self, request: Request) -> Response:
        filters = valid(self.RunListFilterSerializer, request.query_params)
        return paginated(request, selectors.run_list(**filters), CatalogRunOutputSerializer, view=self)

    class RunCreateInputSerializer(serializers.Serializer[Any]):
        run_id = serializers.UUIDField(required=False, allow_null=True, default=None)
        job_namespace = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        job_name = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
        inputs = CatalogDatasetVersionRefSerializer(many=True, required=False, default=list)
        parameters = serializers.DictField(required=False, default=dict)
        metrics = serializers.DictField(required=False, default=dict)
        code_version = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        environment = serializers.DictField(required=False, default=dict)
        started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(request=RunCreateInputSerializer, responses={201: CatalogRunOutputSerializer})
    def post(self, request: Request) -> Response:
        data = valid(self.RunCreateInputSerializer, request.data)
        data["inputs"] = [dict(ref) for ref in data["inputs"]]
        run = services.run_create(actor=actor_from_request(request), **data)
        return Response(
            CatalogRunOutputSerializer(selectors.run_get(run_id=run.run_id)).data,
            status=status.HTTP_201_CREATED,
        )


class RunDetailApi(APIView):
    permission_classes = [READ_ROLES]

    @extend_schema(responses=CatalogRunOutputSerializer)
    def get(self, request: Request, run_id: str) -> Response:
        return Response(CatalogRunOutputSerializer(selectors.run_get(run_id=run_id)).data)
