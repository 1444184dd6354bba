"""Privacy requests (erasure, deletion, access, objection), their handling, and the records of
processing (GDPR Art. 30)."""

from __future__ import annotations

from typing import Any, Final

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.consent.apis.fields import JurisdictionField
from governance.consent.models import ExemptionGround, PrivacyRequest, RequestStatus, RequestType
from governance.consent.selectors.processing import records_as_csv, records_of_processing
from governance.consent.selectors.requests import (
    privacy_request_get,
    privacy_request_list,
    privacy_request_report,
)
from governance.consent.services.erasure import erasure_exemption_record, privacy_request_erase_rows
from governance.consent.services.reads import privacy_request_read
from governance.consent.services.requests import (
    privacy_request_create,
    privacy_request_impact_compute,
    privacy_request_status_set,
)
from governance.consent.subjects import subject_hash_of
from governance.core.api import MethodRoles, must_exist, paginated, valid
from governance.core.permissions import roles_allowed
from governance.core.roles import Role
from governance.core.schema import paged
from registry.selectors import catalog

REQUEST_READ_ROLES: Final = (Role.COMPLIANCE_OFFICER, Role.AUDITOR)
REQUEST_CREATE_ROLES: Final = (Role.COMPLIANCE_OFFICER, Role.PIPELINE)
REQUEST_READERS = roles_allowed(*REQUEST_READ_ROLES)
REQUEST_HANDLERS = roles_allowed(Role.COMPLIANCE_OFFICER)


def _report(request: PrivacyRequest, code: int = status.HTTP_200_OK) -> Response:
    return Response(privacy_request_report(request=privacy_request_get(pk=request.pk)), status=code)


class PrivacyRequestSummarySerializer(serializers.Serializer[PrivacyRequest]):
    id = serializers.IntegerField()
    type = serializers.CharField()
    jurisdiction = serializers.CharField()
    status = serializers.CharField()
    received_at = serializers.DateTimeField()
    acknowledge_by = serializers.DateField(allow_null=True)
    respond_by = serializers.DateField()
    handled_by = serializers.CharField(source="handled_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class PrivacyRequestCollectionApi(APIView):
    """GET: Privacy requests, newest first; ``?open=true`` for those not completed or denied, ``?status=``.
    Roles: compliance_officer, auditor. Not an audit entry: the summaries name no subject (no keyed
    hash); a request's detail, which does, is.

    POST: Record a data subject's request (the id is hashed at once); its deadlines follow the
    jurisdiction (GDPR: one month; CCPA: confirm in 10 business days, answer in 45 days). An erasure
    or deletion is followed through lineage at once: its impact is in the answer, and deploys of
    affected model versions are refused from now on. Roles: compliance_officer, pipeline (web forms)."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": REQUEST_READ_ROLES, "POST": REQUEST_CREATE_ROLES}

    class PrivacyRequestFilterSerializer(serializers.Serializer[Any]):
        open = serializers.BooleanField(required=False, default=False)
        status = serializers.ChoiceField(
            choices=RequestStatus.choices, required=False, allow_blank=True, default=""
        )

    @extend_schema(
        parameters=[PrivacyRequestFilterSerializer],
        responses=paged(PrivacyRequestSummarySerializer),
        operation_id="v1_privacy_requests_list",
    )
    def get(self, request: Request) -> Response:
        filters = valid(self.PrivacyRequestFilterSerializer, request.query_params)
        rows = privacy_request_list(open_only=filters["open"], status=filters["status"])
        return paginated(request, rows, PrivacyRequestSummarySerializer, view=self)

    class PrivacyRequestCreateInputSerializer(serializers.Serializer[Any]):
        subject_id = serializers.CharField(max_length=500, trim_whitespace=False, write_only=True)
        type = serializers.ChoiceField(choices=RequestType.choices)
        jurisdiction = JurisdictionField()
        received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        purposes = serializers.ListField(
            child=serializers.CharField(max_length=200), required=False, default=list
        )

    @extend_schema(request=PrivacyRequestCreateInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        data = valid(self.PrivacyRequestCreateInputSerializer, request.data)
        created = privacy_request_create(
            actor=actor_from_request(request),
            subject_hash=subject_hash_of(data["subject_id"]),
            request_type=data["type"],
            jurisdiction=data["jurisdiction"],
            received_at=data["received_at"],
            purposes=data["purposes"],
        )
        return _report(created, status.HTTP_201_CREATED)


class PrivacyRequestDetailApi(APIView):
    """One request: its record, for erasure and deletion its impact (dataset versions, runs, model
    versions, deployments; erased rows; exemptions), and ``response_document``, the answer for the
    data subject (what was found, what was done, when). Roles: compliance_officer, auditor. Each answer
    is an audit entry (``privacy_request.read``); an unknown number is a 404 and none."""

    permission_classes = [REQUEST_READERS]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, request_id: str) -> Response:
        _, report = privacy_request_read(actor=actor_from_request(request), pk=request_id, via="api")
        return Response(report)


class PrivacyRequestStatusApi(APIView):
    """Move a request on: received → verified → in_progress → completed, or denied (with a reason)
    before it is completed; the caller becomes its handler. Role: compliance_officer."""

    permission_classes = [REQUEST_HANDLERS]

    class PrivacyRequestStatusInputSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=RequestStatus.choices)
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)

    @extend_schema(request=PrivacyRequestStatusInputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, request_id: str) -> Response:
        data = valid(self.PrivacyRequestStatusInputSerializer, request.data)
        changed = privacy_request_status_set(
            actor=actor_from_request(request),
            request=privacy_request_get(pk=request_id),
            status=data["status"],
            reason=data["reason"],
        )
        return _report(changed)


class PrivacyRequestImpactApi(APIView):
    """Follow an erasure or deletion through lineage again (models trained since are added).
    Role: compliance_officer."""

    permission_classes = [REQUEST_HANDLERS]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, request_id: str) -> Response:
        row = privacy_request_get(pk=request_id)
        privacy_request_impact_compute(actor=actor_from_request(request), request=row)
        return _report(row)


class PrivacyRequestEraseRowsApi(APIView):
    """Remove the subject's raw rows from every stored dataset file: each becomes a new dataset
    version without them (retrain on that), the old files are deleted. Role: compliance_officer."""

    permission_classes = [REQUEST_HANDLERS]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, request_id: str) -> Response:
        row = privacy_request_get(pk=request_id)
        privacy_request_erase_rows(actor=actor_from_request(request), request=row)
        return _report(row)


class ErasureExemptionApi(APIView):
    """Decide that an affected model version may still be deployed, on a legal ground (GDPR
    Art. 17(3), CCPA §1798.105(d)) with a reason; audited. Role: compliance_officer."""

    permission_classes = [REQUEST_HANDLERS]

    class ErasureExemptionInputSerializer(serializers.Serializer[Any]):
        model = serializers.CharField(max_length=200)
        version = serializers.IntegerField(min_value=1)
        ground = serializers.ChoiceField(choices=ExemptionGround.choices)
        reason = serializers.CharField(max_length=5000)

    @extend_schema(request=ErasureExemptionInputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, request_id: str) -> Response:
        data = valid(self.ErasureExemptionInputSerializer, request.data)
        row = privacy_request_get(pk=request_id)
        model_version = must_exist(
            lambda: catalog.model_version_get(model_name=data["model"], version=data["version"]),
            field="model",
        )
        erasure_exemption_record(
            actor=actor_from_request(request),
            request=row,
            model_version=model_version,
            ground=data["ground"],
            reason=data["reason"],
        )
        return _report(row, status.HTTP_201_CREATED)


class RecordsOfProcessingApi(APIView):
    """Records of processing activities (GDPR Art. 30), one per purpose, generated from the registry:
    ``?format=json`` (default) or ``csv``. Roles: compliance_officer, auditor."""

    permission_classes = [REQUEST_READERS]

    class RecordsQuerySerializer(serializers.Serializer[Any]):
        format = serializers.ChoiceField(choices=["json", "csv"], default="json")

    @extend_schema(
        parameters=[RecordsQuerySerializer],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request) -> Response | HttpResponse:
        query = valid(self.RecordsQuerySerializer, request.query_params)
        records = records_of_processing()
        if query["format"] == "csv":
            response = HttpResponse(records_as_csv(records), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = 'attachment; filename="records-of-processing.csv"'
            return response
        return Response({"records": records})
