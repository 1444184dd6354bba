"""``/api/v1/lineage``: OpenLineage ingestion (POST) and the lineage graph (GET), the paths the
OpenLineage HTTP transport and Marquez clients use."""

from __future__ import annotations

import json
import zlib
from typing import TYPE_CHECKING, Any, Final

from django.core.exceptions import RequestDataTooBig
from django.http.request import RawPostDataException
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.accounts.permissions import request_user
from governance.core.api import MethodRoles
from governance.core.errors import ApplicationError
from governance.core.json_parser import json_check, too_large
from governance.core.roles import Role
from governance.core.throttling import ScopedRateThrottle
from registry.selectors.lineage import DEFAULT_DEPTH, DEFAULT_DIRECTION, DIRECTIONS, MAX_DEPTH, lineage_graph
from registry.services.lineage import InvalidLineageEvent, lineage_event_ingest

if TYPE_CHECKING:
    pass

# An event with column-level lineage for a wide table is a few hundred KiB; 8 MiB leaves room while
# keeping a gzip bomb (1 KiB can inflate to 1 MiB) from exhausting memory.
MAX_EVENT_BYTES: Final = 8 * 1024 * 1024


class PayloadTooLarge(ApplicationError):
    code = "payload_too_large"
    status = 413


class UnsupportedContentEncoding(ApplicationError):
    code = "unsupported_content_encoding"
    status = 415  # RFC 9110 §15.5.16


def decode_body(raw: bytes, content_encoding: str) -> object:
    """The JSON value of a request body sent as is or gzip-compressed (RFC 9110 §8.4.1.3)."""
    codings = [part.strip().lower() for part in content_encoding.split(",") if part.strip()]
    codings = [coding for coding in codings if coding != "identity"]
    if codings not in ([], ["gzip"], ["x-gzip"]):
        raise UnsupportedContentEncoding(
            f"Content-Encoding {content_encoding!r} is not supported; send the JSON as is or gzip it"
        )
    data = _gunzip(raw) if codings else raw
    if len(data) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(f"an event may be at most {MAX_EVENT_BYTES} bytes")
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidLineageEvent("$", f"the body is not JSON: {exc}") from exc
    try:
        # MAX_JSON_ITEMS and no NUL, as every JSON body; an event may nest deeper (Airflow's task tree).
        json_check(value, depth_setting="MAX_OPENLINEAGE_JSON_DEPTH")
    except ApplicationError as exc:  # in this endpoint's own shape: "<path>: <problem>"
        path, _, problem = exc.detail.partition(": ")
        raise InvalidLineageEvent("$" if path == "the body" else path, problem) from exc
    return value


def _gunzip(raw: bytes) -> bytes:
    """Inflate every gzip member, never more than ``MAX_EVENT_BYTES`` + 1 bytes in all."""
    out = bytearray()
    rest = raw
    try:
        while True:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            out += inflater.decompress(rest, MAX_EVENT_BYTES + 1 - len(out))
            if len(out) > MAX_EVENT_BYTES:
                raise PayloadTooLarge(f"an event may be at most {MAX_EVENT_BYTES} bytes once decompressed")
            if not inflater.eof:
                if inflater.unconsumed_tail:  # stopped at the size cap with input left
                    raise PayloadTooLarge(f"an event may be at most {MAX_EVENT_BYTES} bytes decompressed")
                raise InvalidLineageEvent("$", "the gzip body is truncated")
            rest = inflater.unused_data
            if not rest.strip(b"\x00"):
                return bytes(out)
    except zlib.error as exc:
        raise InvalidLineageEvent("$", f"the body is not valid gzip: {exc}") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class EdgeOutputSerializer(serializers.Serializer[Any]):
    origin = serializers.CharField()
    destination = serializers.CharField()


class NodeOutputSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    type = serializers.ChoiceField(
        choices=["dataset", "dataset_version", "job", "run", "model", "deployment"]
    )
    # DRF's metaclass moves declared fields off the class, so this does not shadow Serializer.data.
    data = serializers.JSONField(allow_null=True)  # type: ignore[assignment]
    inEdges = EdgeOutputSerializer(many=True)  # Marquez's field names
    outEdges = EdgeOutputSerializer(many=True)


INGESTERS: Final = (Role.DATA_SCIENTIST, Role.PIPELINE)
GRAPH_READERS: Final = (Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER, Role.AUDITOR)


class LineageApi(APIView):
    """GET: The lineage graph around ``nodeId`` in Marquez's shape: every node within ``depth`` edges
    either way (``direction=both``, the default: a job with the datasets it reads and writes and its
    runs, a dataset with the jobs producing and consuming it), or only ``upstream`` / ``downstream``.

    POST: Take one OpenLineage 2-0-2 event, as the openlineage-python HTTP transport sends it (it
    POSTs where Marquez clients GET, hence one path).

    201 ``{"id", "kind"}`` for a new event; 200 with the stored event's id for an identical event sent
    before (nothing changes, no second audit entry). A malformed event gets 400 naming the path and
    stores nothing, so the client (which retries 5xx) does not retry it.

    Throttled on its own scope (``THROTTLE_LINEAGE_INGEST``, default 60,000/minute per user), not the
    general per-user rate: a pipeline reports every run's START and COMPLETE, and a busy one sends
    hundreds of events a second."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": GRAPH_READERS, "POST": INGESTERS}
    throttle_classes = [ScopedRateThrottle]  # both methods, as before the two operations shared a view
    throttle_scope = "lineage_ingest"

    class LineageGraphInputSerializer(serializers.Serializer[Any]):
        nodeId = serializers.CharField(max_length=800)  # Marquez's parameter name
        depth = serializers.IntegerField(min_value=0, max_value=MAX_DEPTH, default=DEFAULT_DEPTH)
        direction = serializers.ChoiceField(choices=DIRECTIONS, default=DEFAULT_DIRECTION)

    class LineageGraphOutputSerializer(serializers.Serializer[Any]):
        graph = NodeOutputSerializer(many=True)

    @extend_schema(
        operation_id="lineage_graph",
        parameters=[
            OpenApiParameter("nodeId", str, required=True, description="e.g. run:<uuid> or job:<ns>:<name>"),
            OpenApiParameter("depth", int, description=f"edges to walk (default {DEFAULT_DEPTH})"),
            OpenApiParameter(
                "direction",
                str,
                enum=list(DIRECTIONS),
                default=DEFAULT_DIRECTION,
                description="both: every node within depth edges either way, as Marquez's lineage "
                "endpoint; upstream / downstream: against / with the data flow only",
            ),
        ],
        responses=LineageGraphOutputSerializer,
    )
    def get(self, request: Request) -> Response:
        incoming = self.LineageGraphInputSerializer(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        graph = lineage_graph(
            node_id=incoming.validated_data["nodeId"],
            depth=incoming.validated_data["depth"],
            direction=incoming.validated_data["direction"],
        )
        return Response(self.LineageGraphOutputSerializer(graph).data)

    class LineageEventIngestOutputSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        kind = serializers.CharField()

    @extend_schema(
        operation_id="lineage_event_ingest",
        request={"application/json": {"type": "object", "description": "An OpenLineage 2-0-2 event"}},
        responses={201: LineageEventIngestOutputSerializer, 200: LineageEventIngestOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        try:
            raw = request.body
        except RequestDataTooBig as exc:
            raise too_large() from exc
        except RawPostDataException as exc:  # a form body already parsed for a session's CSRF check
            raise InvalidLineageEvent(
                "$", "send the event as a JSON body (Content-Type: application/json)"
            ) from exc
        event = decode_body(raw, request.headers.get("Content-Encoding", ""))
        result = lineage_event_ingest(
            actor=actor_from_request(request), user=request_user(request), event=event
        )
        body = self.LineageEventIngestOutputSerializer(
            {"id": result.event.pk, "kind": result.event.kind}
        ).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
