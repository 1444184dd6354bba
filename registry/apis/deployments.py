"""Deployments: list, read, end, and which version served an environment at a moment.

Recording a deployment made outside this service is the jobs app's (``governance.jobs.deployment_apis``):
it carries out an approved release."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.api import paginated, valid
from governance.core.errors import NotFound
from governance.core.pagination import CursorPagination
from governance.core.schema import paged
from registry.apis.common import (
    READ_ROLES,
    WRITE_ROLES,
    CatalogDeploymentOutputSerializer,
)
from registry.selectors import catalog as selectors
from registry.services.deployments import deployment_end


class DeploymentListApi(APIView):
    """Deployments, latest first; filter by environment, model and serving (still open)."""

    permission_classes = [READ_ROLES]
    pagination_class = CursorPagination

    class DeploymentListFilterSerializer(serializers.Serializer[Any]):
        environment = serializers.CharField(required=False, max_length=100, allow_blank=True, default="")
        model = serializers.CharField(required=False, max_length=200, allow_blank=True, default="")
        serving = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(
        parameters=[DeploymentListFilterSerializer],
        responses=paged(CatalogDeploymentOutputSerializer),
        operation_id="v1_deployments_list",
    )
    def get(self, request: Request) -> Response:
        filters = valid(self.DeploymentListFilterSerializer, request.query_params)
        rows = selectors.deployment_list(**filters)
        return paginated(request, rows, CatalogDeploymentOutputSerializer, view=self, ordering="-deployed_at")


class DeploymentDetailApi(APIView):
    permission_classes = [READ_ROLES]

    @extend_schema(responses=CatalogDeploymentOutputSerializer)
    def get(self, request: Request, deployment_id: str) -> Response:
        return Response(CatalogDeploymentOutputSerializer(selectors.deployment_get(pk=deployment_id)).data)


class DeploymentEndApi(APIView):
    """Take a deployment out of service (it stays in the history); audited."""

    permission_classes = [WRITE_ROLES]

    @extend_schema(request=None, responses=CatalogDeploymentOutputSerializer)
    def post(self, request: Request, deployment_id: str) -> Response:
        deployment = deployment_end(
            actor=actor_from_request(request), deployment=selectors.deployment_get(pk=deployment_id)
        )
        return Response(CatalogDeploymentOutputSerializer(deployment).data)


class DeploymentAtApi(APIView):
    """Which model version(s) served ``environment`` at ``time`` (of one ``model`` if given); 404 if none."""

    permission_classes = [READ_ROLES]

    class DeploymentAtQuerySerializer(serializers.Serializer[Any]):
        environment = serializers.CharField(max_length=100)
        time = serializers.DateTimeField()
        model = serializers.CharField(required=False, max_length=200, allow_blank=True, default="")

    class DeploymentAtOutputSerializer(serializers.Serializer[Any]):
        environment = serializers.CharField()
        time = serializers.DateTimeField()
        results = CatalogDeploymentOutputSerializer(many=True)

    @extend_schema(parameters=[DeploymentAtQuerySerializer], responses=DeploymentAtOutputSerializer)
    def get(self, request: Request) -> Response:
        query = valid(self.DeploymentAtQuerySerializer, request.query_params)
        serving = selectors.deployment_at(
            environment=query["environment"], at=query["time"], model=query["model"] or None
        )
        if not serving:
            who = f"no version of model {query['model']!r}" if query["model"] else "no model version"
            raise NotFound(f"{who} served {query['environment']!r} at {query['time'].isoformat()}")
        body = {"environment": query["environment"], "time": query["time"], "results": serving}
        return Response(self.DeploymentAtOutputSerializer(body).data)
