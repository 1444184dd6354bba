"""Recording a deployment made outside this service: it carries out an approved deploy release, so the
route is the jobs app's (a deploy job is the other way to carry one out). ``GET /api/v1/deployments``
on the same path is the registry's list."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from audit.actors import actor_from_request
from governance.approvals.selectors import release_get
from governance.core.api import MethodRoles, must_exist, valid
from governance.jobs.external import deployment_record_approved
from registry.apis.common import READERS, WRITERS, CatalogDeploymentOutputSerializer
from registry.apis.deployments import DeploymentListApi
from registry.selectors import catalog as selectors


class DeploymentCollectionApi(DeploymentListApi):
    """GET: the registry's deployment list (``DeploymentListApi``).

    POST: record a deployment made outside this service, under the approved deploy ``release`` for this
    version and environment (its grant is used up, as a deploy job would). Without one: 409 saying why.
    Deploys made here go through ``POST /api/v1/releases/<id>/run``."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": READERS, "POST": WRITERS}

    class DeploymentCreateInputSerializer(serializers.Serializer[Any]):
        model = serializers.CharField(max_length=200)
        version = serializers.IntegerField(min_value=1)
        environment = serializers.CharField(max_length=100)
        endpoint = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
        release = serializers.IntegerField(
            min_value=1,
            help_text="the approved deploy request (POST /api/v1/releases) this deployment carries out",
        )

    @extend_schema(
        request=DeploymentCreateInputSerializer, responses={201: CatalogDeploymentOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        data = valid(self.DeploymentCreateInputSerializer, request.data)
        model_version = must_exist(
            lambda: selectors.model_version_get(model_name=data["model"], version=data["version"]),
            field="model",
        )
        deployment = deployment_record_approved(
            actor=actor_from_request(request),
            release=release_get(pk=data["release"]),
            model_version=model_version,
            environment=data["environment"],
            endpoint=data["endpoint"],
        )
        row = selectors.deployment_get(pk=deployment.pk)
        return Response(CatalogDeploymentOutputSerializer(row).data, status=status.HTTP_201_CREATED)
