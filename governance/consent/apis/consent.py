"""Consent events, their import, a subject's state, notices and the training-data filter's manifest."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser, DataAndFiles, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.consent.apis.fields import JurisdictionField
from governance.consent.eligibility import KINDS, OPT_OUT
from governance.consent.models import ConsentNotice, LawfulBasis, Method
from governance.consent.selectors import eligibility_manifest
from governance.consent.selectors.ledger import notice_list
from governance.consent.services.imports import consent_import
from governance.consent.services.ledger import EventInput, consent_notice_create, consent_record, notice_get
from governance.consent.services.reads import consent_state_read
from governance.consent.subjects import subject_hash_of
from governance.core.api import MethodRoles, paginated, valid
from governance.core.errors import ValidationFailed
from governance.core.permissions import roles_allowed
from governance.core.roles import Role
from governance.core.schema import paged
from governance.core.uploads import upload_handler_install, upload_limit
from registry.selectors import catalog

CONSENT_WRITERS = roles_allowed(Role.PIPELINE, Role.COMPLIANCE_OFFICER)
CONSENT_READ_ROLES: Final = (Role.COMPLIANCE_OFFICER, Role.AUDITOR, Role.PIPELINE)
NOTICE_WRITE_ROLES: Final = (Role.COMPLIANCE_OFFICER,)
CONSENT_READERS = roles_allowed(*CONSENT_READ_ROLES)
ELIGIBILITY_READERS = roles_allowed(Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER, Role.AUDITOR)
GPC_HEADER = "Sec-GPC"  # Global Privacy Control: "1" is a do-not-sell-or-share request
GPC_DEFAULT_PURPOSE = "third_party_sharing"
request_logger = logging.getLogger("django.request")


class ConsentPurposeStateSerializer(serializers.Serializer[Any]):
    purpose = serializers.CharField()
    status = serializers.CharField(allow_null=True)
    lawful_basis = serializers.CharField(allow_blank=True)
    jurisdiction = serializers.CharField(allow_blank=True)
    limited_sensitive = serializers.BooleanField()
    since = serializers.DateTimeField(allow_null=True)


def _state_rows(states: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "purpose": purpose,
            "status": state.status,
            "lawful_basis": state.lawful_basis,
            "jurisdiction": state.jurisdiction,
            "limited_sensitive": state.limited,
            "since": state.since,
        }
        for purpose, state in sorted(states.items())
    ]


class ConsentRecordApi(APIView):
    """Record one consent event. A withdrawal is this same call (GDPR Art. 7(3)). With the header
    ``Sec-GPC: 1`` the event recorded is an opt-out of sale/sharing, method ``gpc``, whatever the body
    says (Cal. Code Regs. tit. 11, §7025); its purpose defaults to ``third_party_sharing``.
    Roles: pipeline (consent platforms sync) and compliance_officer (paper forms)."""

    permission_classes = [CONSENT_WRITERS]

    class ConsentRecordInputSerializer(serializers.Serializer[Any]):
        subject_id = serializers.CharField(max_length=500, trim_whitespace=False, write_only=True)
        purpose = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        event = serializers.ChoiceField(choices=KINDS, required=False, allow_blank=True, default="")
        lawful_basis = serializers.ChoiceField(
            choices=LawfulBasis.choices, required=False, allow_blank=True, default=""
        )
        jurisdiction = JurisdictionField()
        method = serializers.ChoiceField(
            choices=[Method.API, Method.FORM, Method.IMPORT, Method.GPC], default=Method.API
        )
        # DRF's metaclass moves declared fields off the class: this does not shadow Field.source.
        source = serializers.CharField(  # type: ignore[assignment]
            max_length=200, required=False, allow_blank=True, default=""
        )
        notice_key = serializers.SlugField(max_length=100, required=False, allow_null=True, default=None)
        notice_version = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
        occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    class ConsentRecordOutputSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        subject_hash = serializers.CharField()
        purpose = serializers.CharField()
        event = serializers.CharField(source="kind")
        lawful_basis = serializers.CharField()
        jurisdiction = serializers.CharField()
        method = serializers.CharField()
        source = serializers.CharField()  # type: ignore[assignment]
        notice = serializers.CharField(allow_null=True)
        occurred_at = serializers.DateTimeField()
        recorded_at = serializers.DateTimeField()

    @extend_schema(request=ConsentRecordInputSerializer, responses={201: ConsentRecordOutputSerializer})
    def post(self, request: Request) -> Response:
        data = valid(self.ConsentRecordInputSerializer, request.data)
        subject = subject_hash_of(data.pop("subject_id"))
        kind, method, purpose = data["event"], data["method"], data["purpose"]
        if request.headers.get(GPC_HEADER, "").strip() == "1":
            kind, method, purpose = OPT_OUT, Method.GPC, purpose or GPC_DEFAULT_PURPOSE
        if not kind:
            raise ValidationFailed("event: say which: grant, withdraw, opt_out, limit_sensitive or object")
        if not purpose:
            raise ValidationFailed("purpose: a fideslang data use such as train_ai_system")
        notice = None
        if data["notice_key"] or data["notice_version"] is not None:
            if not (data["notice_key"] and data["notice_version"]):
                raise ValidationFailed("notice_key and notice_version go together")
            notice = notice_get(key=data["notice_key"], version=data["notice_version"])
        event = consent_record(
            actor=actor_from_request(request),
            event=EventInput(
                subject_hash=subject,
                purpose=purpose,
                kind=kind,
                lawful_basis=data["lawful_basis"],
                jurisdiction=data["jurisdiction"],
                method=method,
                source=data["source"],
                notice=notice,
                occurred_at=data["occurred_at"] or timezone.now(),
            ),
        )
        body = self.ConsentRecordOutputSerializer(event).data
        return Response(body, status=status.HTTP_201_CREATED)


class CsvStreamParser(BaseParser):
    """A ``text/csv`` body, handed on as the request stream: read as it arrives, never whole."""

    media_type = "text/csv"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> DataAndFiles[Any, Any]:
        return DataAndFiles({}, {"file": stream})


class ConsentImportApi(APIView):
    """Import a consent platform's CSV export (``Content-Type: text/csv`` body, or multipart field
    ``file``): columns subject_id, purpose, event, jurisdiction, occurred_at and optionally
    lawful_basis, method, source, notice_key, notice_version. All or nothing: any refused line means
    400 ``import_rejected`` with ``report.rejections`` (line and reason) and nothing stored.
    Roles: pipeline, compliance_officer."""

    permission_classes = [CONSENT_WRITERS]
    parser_classes = [CsvStreamParser, MultiPartParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method == "POST":  # before authentication: a session's CSRF check reads the body
            upload_handler_install(request, "MAX_CONSENT_IMPORT_BYTES")
        super().initial(request, *args, **kwargs)

    class ConsentImportOutputSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        sha256 = serializers.CharField()
        size = serializers.IntegerField()
        events = serializers.IntegerField()
        subjects = serializers.IntegerField()
        counts = serializers.JSONField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        request={"text/csv": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT},
        responses={201: ConsentImportOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        upload_limit(request, "MAX_CONSENT_IMPORT_BYTES", raw_body=True)
        stream = request.FILES.get("file")
        if stream is None:
            raise ValidationFailed(
                "send the CSV as the body (Content-Type: text/csv) or as multipart field 'file'"
            )
        batch = consent_import(actor=actor_from_request(request), stream=stream)
        return Response(self.ConsentImportOutputSerializer(batch).data, status=status.HTTP_201_CREATED)


class ConsentStateApi(APIView):
    """A subject's consent state per purpose now, or ``?as_of=<RFC 3339 time>`` at any past moment
    (folded from the ledger); ``?purpose=`` answers for one purpose, its fideslang parents included.
    The raw id in the path is hashed at once; this view logs its errors with the path redacted. Each
    answer is an audit entry (``consent.read``, the subject by keyed hash), an empty state included.
    Roles: compliance_officer, auditor, pipeline."""

    permission_classes = [CONSENT_READERS]
    redacted_path = "/api/v1/consent/<subject_id>"

    class ConsentStateQuerySerializer(serializers.Serializer[Any]):
        as_of = serializers.DateTimeField(required=False, allow_null=True, default=None)
        purpose = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class ConsentStateOutputSerializer(serializers.Serializer[Any]):
        subject_hash = serializers.CharField()
        as_of = serializers.DateTimeField()
        erasure_requested = serializers.BooleanField()
        purposes = ConsentPurposeStateSerializer(many=True)
        purpose = serializers.CharField(allow_null=True)
        usable_for_purpose = serializers.BooleanField(allow_null=True)

    @extend_schema(parameters=[ConsentStateQuerySerializer], responses=ConsentStateOutputSerializer)
    def get(self, request: Request, subject_id: str) -> Response:
        subject = subject_hash_of(subject_id)
        del subject_id
        query = valid(self.ConsentStateQuerySerializer, request.query_params)
        read = consent_state_read(
            actor=actor_from_request(request),
            subject_hash=subject,
            at=query["as_of"],
            purpose=query["purpose"] or None,
        )
        body = {**read, "purposes": _state_rows(read["states"])}
        return Response(self.ConsentStateOutputSerializer(body).data)

    def handle_exception(self, exc: Exception) -> Response:
        try:
            return super().handle_exception(exc)
        except Exception:
            # Django would log "Internal Server Error: <path>", raw id and all.
            request_logger.exception("Internal Server Error: %s", self.redacted_path)
            response = Response(
                {"error": "server_error", "detail": "the server failed; it is logged"}, status=500
            )
            response._has_been_logged = True  # type: ignore[attr-defined]
            return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400 and not getattr(response, "_has_been_logged", False):
            # Django logs the path of every 4xx/5xx answer ("Not Found: /api/v1/consent/<id>") with
            # the request attached: log it here with the id redacted, and tell Django it is logged.
            level = logging.ERROR if response.status_code >= 500 else logging.WARNING
            request_logger.log(
                level,
                "%s: %s",
                response.reason_phrase,
                self.redacted_path,
                extra={"status_code": response.status_code},
            )
            response._has_been_logged = True
        return response


class NoticeCollectionApi(APIView):
    """GET: Notice versions, newest first. Roles: compliance_officer, auditor, pipeline.

    POST: Publish the next version of a notice (its SHA-256 commits to the text).
    Role: compliance_officer."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": CONSENT_READ_ROLES, "POST": NOTICE_WRITE_ROLES}

    class NoticeOutputSerializer(serializers.Serializer[ConsentNotice]):
        key = serializers.CharField()
        version = serializers.IntegerField()
        title = serializers.CharField()
        language = serializers.CharField()
        text = serializers.CharField()
        sha256 = serializers.CharField()
        created_by = serializers.CharField(source="created_by.username")
        created_at = serializers.DateTimeField()

    @extend_schema(responses=paged(NoticeOutputSerializer), operation_id="v1_consent_notices_list")
    def get(self, request: Request) -> Response:
        return paginated(request, notice_list(), self.NoticeOutputSerializer, view=self)

    class NoticeCreateInputSerializer(serializers.Serializer[Any]):
        key = serializers.SlugField(max_length=100)
        title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
        language = serializers.CharField(max_length=35, default="en")
        text = serializers.CharField(trim_whitespace=False)

    @extend_schema(request=NoticeCreateInputSerializer, responses={201: NoticeOutputSerializer})
    def post(self, request: Request) -> Response:
        data = valid(self.NoticeCreateInputSerializer, request.data)
        notice = consent_notice_create(actor=actor_from_request(request), **data)
        return Response(self.NoticeOutputSerializer(notice).data, status=status.HTTP_201_CREATED)


class EligibilityApi(APIView):
    """The training-data filter's manifest for a dataset version and a purpose (``?purpose=``, now or
    ``?at=``; ``?namespace=`` as for the dataset): rows and subjects in and out by reason, and the
    SHA-256 of the included subjects. Roles: data_scientist, pipeline, compliance_officer, auditor."""

    permission_classes = [ELIGIBILITY_READERS]

    class EligibilityQuerySerializer(serializers.Serializer[Any]):
        purpose = serializers.CharField(max_length=200)
        at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        namespace = serializers.CharField(max_length=200, required=False, default="default")

    @extend_schema(parameters=[EligibilityQuerySerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, name: str, version: str) -> Response:
        query = valid(self.EligibilityQuerySerializer, request.query_params)
        dataset = catalog.dataset_get(namespace=query["namespace"], name=name)
        row = catalog.dataset_version_get(dataset=dataset, version=version)
        return Response(eligibility_manifest(dataset_version=row, purpose=query["purpose"], at=query["at"]))
