from __future__ import annotations

from typing import Any

from django.http import HttpResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.csp import admit_own_styles
from governance.core.permissions import roles_allowed
from governance.core.roles import Role
from governance.documentation.services import FORMATS, technical_documentation_export


class TechnicalDocumentationApi(APIView):
    """A model version's technical documentation (EU AI Act Art. 11, Annex IV) with its model card, as
    JSON, HTML, PDF or an offline-verifiable zip. Auditors and compliance officers; every export is an
    audit entry (``report.technical_documentation``)."""

    permission_classes = [roles_allowed(Role.AUDITOR, Role.COMPLIANCE_OFFICER)]

    class TechnicalDocumentationQuerySerializer(serializers.Serializer[Any]):
        nodeId = serializers.CharField(max_length=700, help_text="model:<name>#<version>")
        format = serializers.ChoiceField(choices=FORMATS, default="json")

    @extend_schema(
        parameters=[
            TechnicalDocumentationQuerySerializer,
            OpenApiParameter(
                "nodeId",
                str,
                OpenApiParameter.QUERY,
                required=True,
                description="The model version, as its lineage node id: model:<name>#<version>.",
                examples=[OpenApiExample("a model version", value="model:churn#1")],
            ),
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/html"): OpenApiTypes.STR,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "application/zip"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request: Request) -> HttpResponseBase:
        params = self.TechnicalDocumentationQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        fmt = params.validated_data["format"]
        rendered = technical_documentation_export(
            actor=actor_from_request(request), subject=params.validated_data["nodeId"], fmt=fmt
        )
        response = HttpResponse(rendered.content, content_type=rendered.content_type)
        disposition = "inline" if fmt in {"json", "html"} else "attachment"
        response["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
        if fmt == "html":
            # The page carries its own stylesheet (it reads the same opened from the zip, offline): the
            # page's CSP admits exactly that stylesheet, by its hash.
            return admit_own_styles(request, response)
        return response
