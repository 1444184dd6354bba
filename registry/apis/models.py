"""Registered models: list, register, read, update (risk reclassification by compliance officers), archive."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.api import MethodRoles, paginated, valid
from governance.core.errors import PermissionRefused, ValidationFailed
from governance.core.pagination import CursorPagination
from governance.core.permissions import user_roles
from governance.core.schema import paged
from registry.apis.common import (
    READERS,
    RISK_LEVEL_ERRORS,
    UPDATERS,
    WRITE_ROLE_NAMES,
    WRITE_ROLES,
    WRITERS,
    CatalogModelOutputSerializer,
)
from registry.models import (
    RiskLevel,
)
from registry.selectors import catalog as selectors
from registry.services import catalog as services


class ModelCollectionApi(APIView):
    """GET: Registered models, newest first; filter by name (contains), risk_level, owner, tag=key:value.

    POST: Register a model; the caller owns it."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": READERS, "POST": WRITERS}

    pagination_class = CursorPagination

    class ModelListFilterSerializer(serializers.Serializer[Any]):
        name = serializers.CharField(required=False, max_length=200)
        risk_level = serializers.ChoiceField(
            choices=RiskLevel.choices, required=False, error_messages=RISK_LEVEL_ERRORS
        )
        owner = serializers.CharField(required=False, max_length=150)
        tag = serializers.ListField(
            child=serializers.RegexField(
                r"^[^:]+:.*$", error_messages={"invalid": "write a tag as key:value"}
            ),
            required=False,
        )
        archived = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema(
        parameters=[ModelListFilterSerializer],
        responses=paged(CatalogModelOutputSerializer),
        operation_id="v1_models_list",
    )
    def get(self, request: Request) -> Response:
        filters = valid(self.ModelListFilterSerializer, request.query_params)
        tags = [tuple(item.split(":", 1)) for item in filters.pop("tag", [])]
        rows = selectors.model_list(tags=tags, **filters)
        return paginated(request, rows, CatalogModelOutputSerializer, view=self)

    class ModelCreateInputSerializer(serializers.Serializer[Any]):
        name = serializers.SlugField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        intended_use = serializers.CharField(required=False, allow_blank=True, default="")
        risk_level = serializers.ChoiceField(
            choices=RiskLevel.choices, default=RiskLevel.MINIMAL, error_messages=RISK_LEVEL_ERRORS
        )
        tags = serializers.DictField(
            child=serializers.CharField(allow_blank=True), required=False, default=dict
        )

    @extend_schema(request=ModelCreateInputSerializer, responses={201: CatalogModelOutputSerializer})
    def post(self, request: Request) -> Response:
        data = valid(self.ModelCreateInputSerializer, request.data)
        model = services.model_create(actor=actor_from_request(request), **data)
        return Response(CatalogModelOutputSerializer(model).data, status=status.HTTP_201_CREATED)


class ModelResourceApi(APIView):
    """PATCH: Change description, intended_use or tags (data scientists, pipelines), or reclassify risk_level
    with a reason (compliance officers only: 403 ``risk_level_officer_only`` for anyone else); audited."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": READERS, "PATCH": UPDATERS}

    @extend_schema(responses=CatalogModelOutputSerializer)
    def get(self, request: Request, name: str) -> Response:
        return Response(CatalogModelOutputSerializer(selectors.model_get(name=name)).data)

    class ModelUpdateInputSerializer(serializers.Serializer[Any]):
        description = serializers.CharField(required=False, allow_blank=True)
        intended_use = serializers.CharField(required=False, allow_blank=True)
        risk_level = serializers.ChoiceField(
            choices=RiskLevel.choices, required=False, error_messages=RISK_LEVEL_ERRORS
        )
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
        tags = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)

    @extend_schema(request=ModelUpdateInputSerializer, responses=CatalogModelOutputSerializer)
    def patch(self, request: Request, name: str) -> Response:
        if not isinstance(request.data, Mapping):
            raise ValidationFailed("the body must be a JSON object naming the fields to change")
        unknown = sorted(set(request.data) - set(self.ModelUpdateInputSerializer().fields))
        if unknown:
            raise ValidationFailed(
                f"{', '.join(unknown)}: not changeable here; "
                "send only description, intended_use, risk_level (with reason) or tags"
            )
        changes = valid(self.ModelUpdateInputSerializer, request.data)
        reason = changes.pop("reason")
        if set(changes) - {"risk_level"} and not user_roles(request.user) & WRITE_ROLE_NAMES:
            raise PermissionRefused("a compliance officer changes only a model's risk_level here")
        model = selectors.model_get(name=name)
        model = services.model_update(
            actor=actor_from_request(request), model=model, changes=changes, reason=reason
        )
        return Response(CatalogModelOutputSerializer(model).data)


class ModelArchiveApi(APIView):
    """Archive a model (it is never deleted); audited."""

    permission_classes = [WRITE_ROLES]

    @extend_schema(request=None, responses=CatalogModelOutputSerializer)
    def post(self, request: Request, name: str) -> Response:
        model = services.model_archive(
            actor=actor_from_request(request), model=selectors.model_get(name=name)
        )
        return Response(CatalogModelOutputSerializer(model).data)
