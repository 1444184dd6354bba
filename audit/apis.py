from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import selectors
from audit.actors import actor_from_request
from audit.checkpoints import checkpoint_create
from audit.exporting import audit_export
from audit.reads import audit_entries_read
from audit.store import CheckpointStore
from governance.core.permissions import roles_allowed
from governance.core.roles import Role

AUDIT_READERS = roles_allowed(Role.AUDITOR, Role.COMPLIANCE_OFFICER, Role.ADMIN)
MAX_PAGE = 5_000
DEFAULT_PAGE = 1_000


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(item).decode("ascii") for item in items]


class ProofOutputSerializer(serializers.Serializer[Any]):
    proof = serializers.ListField(child=serializers.CharField(), help_text="base64 SHA-256 node hashes")


class InclusionProofOutputSerializer(ProofOutputSerializer):
    index = serializers.IntegerField()
    tree_size = serializers.IntegerField()


class ConsistencyProofOutputSerializer(ProofOutputSerializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()


class EntryOutputSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    leaf = serializers.CharField(help_text="base64 of the exact bytes hashed as the Merkle leaf")
    timestamp = serializers.CharField()
    actor = serializers.DictField()
    action = serializers.CharField()
    target = serializers.DictField()
    # The entry's "data" field shadows Serializer.data; this serializer only documents the shape.
    data = serializers.DictField()  # type: ignore[assignment]
    request_id = serializers.CharField(allow_null=True)
    prev = serializers.CharField()


class EntryPageOutputSerializer(serializers.Serializer[Any]):
    tree_size = serializers.IntegerField()
    entries = EntryOutputSerializer(many=True)
    next = serializers.IntegerField(allow_null=True)


class CheckpointApi(APIView):
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note). Public: witnesses need it."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        store = CheckpointStore()
        latest = store.latest()
        if latest is None or latest.size < selectors.tree_size():
            latest = checkpoint_create(store=store)
        return HttpResponse(latest.note, content_type="text/plain; charset=utf-8")


class PublicKeyApi(APIView):
    """Verifier keys, one a line: ``<name>+<key id>+<key> valid_from=... [valid_until=...]``. Public."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        store = CheckpointStore()
        if not store.key_lines():
            checkpoint_create(store=store)
        return HttpResponse("\n".join(store.key_lines()) + "\n", content_type="text/plain; charset=utf-8")


class EntryListApi(APIView):
    """Entries [start, end) with their exact leaf bytes. Auditors, compliance officers, admins.
    A page that holds entries is itself an audit entry (``audit.read``, naming the range read)."""

    permission_classes = [AUDIT_READERS]

    class EntryFilterSerializer(serializers.Serializer[Any]):
        start = serializers.IntegerField(min_value=0, default=0)
        end = serializers.IntegerField(min_value=0, required=False)
        limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=DEFAULT_PAGE)
        actor_type = serializers.CharField(required=False)
        actor_id = serializers.CharField(required=False)
        action = serializers.CharField(required=False)
        target_type = serializers.CharField(required=False)
        target_id = serializers.CharField(required=False)
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)

    @extend_schema(parameters=[EntryFilterSerializer], responses=EntryPageOutputSerializer)
    def get(self, request: Request) -> Response:
        params = self.EntryFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        filters = dict(params.validated_data)
        limit = filters.pop("limit")
        page = list(selectors.entry_list(**filters)[: limit + 1])
        more = len(page) > limit
        page = page[:limit]
        size = selectors.tree_size()  # as read: before this read's own entry joins the log
        audit_entries_read(
            actor=actor_from_request(request),
            indices=[entry.index for entry in page],
            filters=params.validated_data,
            via="api",
        )
        return Response(
            {
                "tree_size": size,
                "entries": [selectors.entry_as_dict(entry) for entry in page],
                "next": page[-1].index + 1 if more and page else None,
            }
        )


class InclusionProofApi(APIView):
    """RFC 9162 §2.1.3 inclusion proof. Public: it reveals hashes only."""

    permission_classes = [AllowAny]

    class InclusionQuerySerializer(serializers.Serializer[Any]):
        index = serializers.IntegerField(min_value=0)
        tree_size = serializers.IntegerField(min_value=1)

    @extend_schema(parameters=[InclusionQuerySerializer], responses=InclusionProofOutputSerializer)
    def get(self, request: Request) -> Response:
        params = self.InclusionQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        index, size = params.validated_data["index"], params.validated_data["tree_size"]
        proof = selectors.inclusion_proof_get(index=index, size=size)
        return Response({"index": index, "tree_size": size, "proof": _b64(proof)})


class ConsistencyProofApi(APIView):
    """RFC 9162 §2.1.4 consistency proof. Public: witnesses need it."""

    permission_classes = [AllowAny]

    class ConsistencyQuerySerializer(serializers.Serializer[Any]):
        first = serializers.IntegerField(min_value=1)
        second = serializers.IntegerField(min_value=1)

    @extend_schema(parameters=[ConsistencyQuerySerializer], responses=ConsistencyProofOutputSerializer)
    def get(self, request: Request) -> Response:
        params = self.ConsistencyQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        first, second = params.validated_data["first"], params.validated_data["second"]
        proof = selectors.consistency_proof_get(first=first, second=second)
        return Response({"first": first, "second": second, "proof": _b64(proof)})


class ExportApi(APIView):
    """The whole log as a verifiable bundle (zip). Auditors, compliance officers, admins; audited."""

    permission_classes = [AUDIT_READERS]

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request: Request) -> FileResponse:
        with tempfile.TemporaryDirectory(dir=settings.VAR_DIR) as folder:
            path = Path(folder) / "audit-bundle.zip"
            audit_export(actor=actor_from_request(request), out=path)
            # The open handle keeps the file readable after the folder is removed (POSIX).
            handle = path.open("rb")
        return FileResponse(
            handle, as_attachment=True, filename="audit-bundle.zip", content_type="application/zip"
        )
