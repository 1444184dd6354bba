"""Release requests, their e-signatures and grants under ``/api/v1/releases``.

Data scientists and pipelines ask; the roles a policy names sign (never a pipeline); compliance
officers and auditors read everything, and so do requesters, so they can follow their request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.accounts.permissions import request_user
from governance.approvals import selectors
from governance.approvals.api_common import (
    HISTORY_READERS,
    RELEASE_READER_ROLES,
    RELEASE_READERS,
    REQUESTER_ROLES,
    REQUESTERS,
    SIGNER_ROLES,
    SIGNERS,
)
from governance.approvals.models import (
    EXPIRED,
    Grant,
    Meaning,
    ReleaseKind,
    ReleaseRequest,
    ReleaseStatus,
    Signature,
)
from governance.approvals.services.releases import release_create, release_withdraw
from governance.approvals.services.signatures import release_sign, signature_revoke
from governance.core.api import MethodRoles, MethodThrottles, paginated, valid
from governance.core.errors import NotFound
from governance.core.schema import listed, paged
from governance.core.throttling import UserRateThrottle


def _now(context: Mapping[str, Any]) -> datetime:
    return context.get("now") or timezone.now()


class SignatureOutputSerializer(serializers.Serializer[Any]):
    """A signature as 21 CFR 11.50 wants it shown: printed name, UTC date and time, meaning."""

    id = serializers.IntegerField()
    release = serializers.IntegerField(source="release_id")
    printed_name = serializers.CharField()
    signer = serializers.CharField(source="signer.username")
    meaning = serializers.CharField()
    signed_at = serializers.DateTimeField()
    manifestation = serializers.CharField(help_text="printed name · meaning · UTC date and time")
    comment = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    via = serializers.CharField()
    signed_hash = serializers.CharField()
    hash_valid = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField(allow_null=True)
    counts = serializers.SerializerMethodField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_by = serializers.CharField(source="revoked_by.username", allow_null=True, default=None)
    revoke_reason = serializers.CharField()

    def get_hash_valid(self, obj: Signature) -> bool:
        return selectors.signature_hash_valid(obj, obj.release)

    def get_counts(self, obj: Signature) -> bool:
        return obj.counts_at(_now(self.context))


class GrantOutputSerializer(serializers.Serializer[Any]):
    grant_id = serializers.UUIDField()
    key_id = serializers.CharField()
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    used_by = serializers.CharField()
    job_reference = serializers.CharField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoke_reason = serializers.CharField()
    unusable_reason = serializers.SerializerMethodField()
    token = serializers.CharField(
        help_text="base64url(canonical JSON claims) '.' base64url(Ed25519 signature)"
    )

    def get_unusable_reason(self, obj: Grant) -> str | None:
        return obj.unusable_reason(_now(self.context))


class PinOutputSerializer(serializers.Serializer[Any]):
    node_id = serializers.CharField()
    sha256 = serializers.CharField()
    quality_profile_sha256 = serializers.CharField(
        required=False, help_text="a dataset version's quality profile, when it has one (issue 20)"
    )


class ApprovalsOutputSerializer(serializers.Serializer[Any]):
    needed = serializers.JSONField()
    counted = serializers.IntegerField()
    missing = serializers.JSONField()
    met = serializers.BooleanField()


class RiskClassificationOutputSerializer(serializers.Serializer[Any]):
    """The compliance officer's reclassification a request's risk level starts from."""

    risk_level = serializers.CharField()
    previous_level = serializers.CharField()
    reason = serializers.CharField()
    decided_by = serializers.CharField(source="decided_by.username")
    decided_at = serializers.DateTimeField()


class ReleaseOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.SerializerMethodField()
    model = serializers.CharField(source="model_name")
    model_version = serializers.IntegerField(source="model_version.version", allow_null=True, default=None)
    environment = serializers.CharField()
    risk_level = serializers.CharField()
    risk_classification = RiskClassificationOutputSerializer(allow_null=True)
    requested_by = serializers.CharField(source="requested_by.username")
    created_at = serializers.DateTimeField()
    policy = serializers.SerializerMethodField()
    pinned = serializers.SerializerMethodField()
    parameters = serializers.JSONField()
    code_version = serializers.CharField()
    metric_thresholds = serializers.JSONField()
    dpia_reference = serializers.CharField()
    human_overseer = serializers.CharField(source="human_overseer.username", allow_null=True, default=None)
    justification = serializers.CharField()
    request_hash = serializers.CharField()
    request_hash_valid = serializers.SerializerMethodField()
    checks = serializers.JSONField()
    checks_passed = serializers.BooleanField()
    approvals = serializers.SerializerMethodField()
    signatures = SignatureOutputSerializer(many=True)
    grant = serializers.SerializerMethodField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    consumed_at = serializers.DateTimeField(allow_null=True)

    def get_status(self, obj: ReleaseRequest) -> str:
        return obj.effective_status(_now(self.context))

    @extend_schema_field(
        {"type": "object", "properties": {"name": {"type": "string"}, "version": {"type": "integer"}}}
    )
    def get_policy(self, obj: ReleaseRequest) -> dict[str, Any]:
        return {"name": obj.policy_version.policy.name, "version": obj.policy_version.version}

    @extend_schema_field(PinOutputSerializer(many=True))
    def get_pinned(self, obj: ReleaseRequest) -> list[dict[str, str]]:
        return [{key: str(value) for key, value in pin.items()} for pin in selectors.release_pins(obj)]

    def get_request_hash_valid(self, obj: ReleaseRequest) -> bool:
        return selectors.release_hash_valid(obj)

    @extend_schema_field(ApprovalsOutputSerializer)
    def get_approvals(self, obj: ReleaseRequest) -> dict[str, Any]:
        return dict(selectors.release_approvals(obj, _now(self.context)))

    @extend_schema_field(GrantOutputSerializer(allow_null=True))
    def get_grant(self, obj: ReleaseRequest) -> dict[str, Any] | None:
        live = next((grant for grant in obj.grants.all() if grant.revoked_at is None), None)
        return dict(GrantOutputSerializer(live, context=self.context).data) if live is not None else None


class DatasetRefSerializer(serializers.Serializer[Any]):
    namespace = serializers.CharField(max_length=200, default="default")
    name = serializers.CharField(max_length=300)
    version = serializers.CharField(max_length=200)


def _release(release_id: str) -> ReleaseRequest:
    return selectors.release_get(pk=release_id)


# --- Releases -----------------------------------------------------------------------------------------------


class ReleaseCollectionApi(APIView):
    """GET: release requests, newest first; filter by status (pending, approved, rejected, withdrawn,
    expired, consumed) and kind.

    POST: ask to train (datasets, parameters, code_version, metric_thresholds declared before
    evaluation) or to deploy (model version → environment). The request pins SHA-256 digests, runs the
    policy's checks at once (a failed check rejects it) and answers 201 with the results."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": RELEASE_READER_ROLES, "POST": REQUESTER_ROLES}

    class ReleaseListFilterSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=[*ReleaseStatus.values, EXPIRED], required=False)
        kind = serializers.ChoiceField(choices=ReleaseKind.values, required=False)

    @extend_schema(
        parameters=[ReleaseListFilterSerializer],
        responses=paged(ReleaseOutputSerializer),
        operation_id="v1_releases_list",
    )
    def get(self, request: Request) -> Response:
        filters = valid(self.ReleaseListFilterSerializer, request.query_params)
        now = timezone.now()
        rows = selectors.release_list(now=now, **filters)
        return paginated(request, rows, ReleaseOutputSerializer, view=self, context={"now": now})

    class ReleaseCreateInputSerializer(serializers.Serializer[Any]):
        kind = serializers.ChoiceField(choices=ReleaseKind.values)
        model = serializers.CharField(max_length=200)
        datasets = DatasetRefSerializer(many=True, required=False)
        version = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
        environment = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        parameters = serializers.DictField(required=False, default=dict)
        code_version = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        metric_thresholds = serializers.DictField(required=False, default=dict)
        # Plain text, checked by the service: a second enum of the same values would clash in the schema.
        risk_level = serializers.CharField(
            max_length=16,
            required=False,
            allow_blank=True,
            default="",
            help_text="a new model's EU AI Act risk level",
        )
        dpia_reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        human_overseer = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
        justification = serializers.CharField(required=False, allow_blank=True, default="")
        policy = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    @extend_schema(request=ReleaseCreateInputSerializer, responses={201: ReleaseOutputSerializer})
    def post(self, request: Request) -> Response:
        data = valid(self.ReleaseCreateInputSerializer, request.data)
        data["datasets"] = [dict(ref) for ref in data.get("datasets", [])]
        release = release_create(actor=actor_from_request(request), **data)
        return Response(
            ReleaseOutputSerializer(_release(str(release.pk))).data, status=status.HTTP_201_CREATED
        )


class ReleaseDetailApi(APIView):
    """One request: pinned hashes, check results, approvals, signatures and its grant."""

    permission_classes = [RELEASE_READERS]

    @extend_schema(responses=ReleaseOutputSerializer)
    def get(self, request: Request, release_id: str) -> Response:
        return Response(ReleaseOutputSerializer(_release(release_id)).data)


class ReleaseWithdrawApi(APIView):
    """The requester takes back an open request; its grant is revoked. Audited."""

    permission_classes = [REQUESTERS]

    class ReleaseWithdrawInputSerializer(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(request=ReleaseWithdrawInputSerializer, responses=ReleaseOutputSerializer)
    def post(self, request: Request, release_id: str) -> Response:
        data = valid(self.ReleaseWithdrawInputSerializer, request.data)
        release = release_withdraw(
            actor=actor_from_request(request), release=_release(release_id), by=request_user(request), **data
        )
        return Response(ReleaseOutputSerializer(release).data)


class ReleaseGrantApi(APIView):
    """The request's live grant (also used or expired ones, with the reason they cannot run)."""

    permission_classes = [RELEASE_READERS]

    @extend_schema(responses=GrantOutputSerializer)
    def get(self, request: Request, release_id: str) -> Response:
        grant = selectors.grant_for_release(_release(release_id))
        if grant is None:
            raise NotFound(f"release {release_id} has no grant; it is issued when the approvals are complete")
        return Response(GrantOutputSerializer(grant).data)


# --- Signatures ---------------------------------------------------------------------------------------------


class SignatureCollectionApi(MethodThrottles):
    """GET: the request's signatures (release readers).

    POST: sign with a meaning (approved, rejected, reviewed) and your password again (21 CFR 11.200),
    throttled as ``signing``. 403 for the requester, for a role the policy does not name and for a
    wrong password; 409 when the request is not pending or you signed it already; 423 after repeated
    wrong passwords."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": RELEASE_READER_ROLES, "POST": SIGNER_ROLES}
    # Signing keeps DRF's exact sliding log (every attempt's time; small at 30 a minute): a password
    # guesser must not gain a burst across a window's edge.
    method_throttles = {"POST": (UserRateThrottle, ScopedRateThrottle)}
    throttle_scope = "signing"

    @extend_schema(responses=listed(SignatureOutputSerializer), operation_id="v1_releases_signatures_list")
    def get(self, request: Request, release_id: str) -> Response:
        release = _release(release_id)
        return Response({"results": SignatureOutputSerializer(release.signatures.all(), many=True).data})

    class SignatureCreateInputSerializer(serializers.Serializer[Any]):
        meaning = serializers.ChoiceField(choices=Meaning.values)
        comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
        password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)

    class SignatureCreateOutputSerializer(serializers.Serializer[Any]):
        signature = SignatureOutputSerializer()
        release = ReleaseOutputSerializer()

    @extend_schema(request=SignatureCreateInputSerializer, responses={201: SignatureCreateOutputSerializer})
    def post(self, request: Request, release_id: str) -> Response:
        data = valid(self.SignatureCreateInputSerializer, request.data)
        signature = release_sign(
            actor=actor_from_request(request),
            release=_release(release_id),
            signer=request_user(request),
            **data,
        )
        release = _release(release_id)
        signature = next(one for one in release.signatures.all() if one.pk == signature.pk)
        body = {
            "signature": SignatureOutputSerializer(signature).data,
            "release": ReleaseOutputSerializer(release).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class SignatureRevokeApi(APIView):
    """Revoke an approval (its signer or a compliance officer), with a reason. An approved request goes
    back to pending and its grant is revoked. Audited."""

    permission_classes = [SIGNERS]

    class SignatureRevokeInputSerializer(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=SignatureRevokeInputSerializer, responses=SignatureOutputSerializer)
    def post(self, request: Request, release_id: str, signature_id: str) -> Response:
        data = valid(self.SignatureRevokeInputSerializer, request.data)
        release = _release(release_id)
        signature = next((one for one in release.signatures.all() if str(one.pk) == signature_id), None)
        if signature is None:
            raise NotFound(f"release {release_id} has no signature {signature_id!r}")
        signature_revoke(
            actor=actor_from_request(request), signature=signature, by=request_user(request), **data
        )
        release = _release(release_id)
        signature = next(one for one in release.signatures.all() if str(one.pk) == signature_id)
        return Response(SignatureOutputSerializer(signature).data)


class SignatureHistoryApi(APIView):
    """Every signature, newest first (compliance officers and auditors)."""

    permission_classes = [HISTORY_READERS]

    @extend_schema(responses=paged(SignatureOutputSerializer), operation_id="v1_signatures_list")
    def get(self, request: Request) -> Response:
        return paginated(
            request, selectors.signature_list(), SignatureOutputSerializer, view=self, ordering="-signed_at"
        )
