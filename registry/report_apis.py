from __future__ import annotations

from typing import Any

from django.http import HttpResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.csp import admit_own_styles
from governance.core.permissions import roles_allowed
from governance.core.roles import Role
from registry.services.reports import FORMATS, lineage_report_export


class LineageReportApi(APIView):
    """The auditor's export: a model version's or deployment's whole upstream lineage, signed into the
    audit log. Auditors and compliance officers; every export is an audit entry."""

    permission_classes = [roles_allowed(Role.AUDITOR, Role.COMPLIANCE_OFFICER)]

    class LineageReportQuerySerializer(serializers.Serializer[Any]):
        nodeId = serializers.CharField(max_length=700)
        format = serializers.ChoiceField(choices=FORMATS, default="json")

    @extend_schema(
        parameters=[LineageReportQuerySerializer],
        responses={  # one per ``format``: json, prov and openlineage are JSON documents
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "text/html"): OpenApiTypes.STR,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "application/zip"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request: Request) -> HttpResponseBase:
        params = self.LineageReportQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        rendered = lineage_report_export(
            actor=actor_from_request(request),
            subject=params.validated_data["nodeId"],
            fmt=params.validated_data["format"],
        )
        response = HttpResponse(rendered.content, content_type=rendered.content_type)
        disposition = (
            "inline"
            if params.validated_data["format"] in {"json", "prov", "openlineage", "html"}
            else "attachment"
        )
        response["Content-Disposition"] = f'{disposition}; filename="{rendered.filename}"'
        if params.validated_data["format"] == "html":
            # The HTML report carries its own stylesheet (it reads the same opened from the zip, offline):
            # the page's CSP admits exactly that stylesheet, by its hash.
            return admit_own_styles(request, response)
        return response
