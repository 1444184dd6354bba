"""Release policies under ``/api/v1/policies``: administrators write; every role reads, so a requester
sees what a release will need. Also the grant verifier key at ``/api/v1/grants/public-key``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.approvals import rules, selectors
from governance.approvals.api_common import ADMIN_ROLES, ANY_ROLE, EVERY_ROLE
from governance.approvals.keys import grant_public_key_published
from governance.approvals.models import Policy
from governance.approvals.services.policies import policy_create, policy_version_create
from governance.core.api import MethodRoles, valid
from governance.core.schema import listed


class PolicyVersionOutputSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField()
    kind = serializers.CharField()
    environment = serializers.CharField()
    risk_levels = serializers.ListField(child=serializers.CharField())
    checks = serializers.JSONField()
    required_approvals = serializers.JSONField()
    approval_validity_seconds = serializers.IntegerField()
    signer_exclusions = serializers.ListField(child=serializers.CharField())
    monitoring = serializers.JSONField()
    active = serializers.BooleanField()
    change_note = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class PolicyOutputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    current = serializers.SerializerMethodField()
    versions = PolicyVersionOutputSerializer(many=True)

    def get_current(self, obj: Policy) -> dict[str, Any]:
        return dict(PolicyVersionOutputSerializer(selectors.policy_current_version(obj)).data)


class PolicySpecInputSerializer(serializers.Serializer[Any]):
    """The content of a version; the service checks it field by field and names what is wrong."""

    kind = serializers.ChoiceField(choices=rules.KINDS)
    environment = serializers.CharField(max_length=100, default=rules.ANY)
    risk_levels = serializers.ListField(child=serializers.CharField(max_length=16), default=[rules.ANY])
    checks = serializers.JSONField(required=False)
    required_approvals = serializers.JSONField()
    approval_validity_seconds = serializers.IntegerField()
    signer_exclusions = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        help_text="who else may not sign: model_owner, human_overseer",
    )
    monitoring = serializers.JSONField(
        required=False,
        help_text="drift thresholds for the deployments it approves (psi, ks, prediction_psi, accuracy_drop, "
        "min_samples, min_labels); those left out take the monitoring defaults",
    )


SPEC_FIELDS = (
    "kind",
    "environment",
    "risk_levels",
    "checks",
    "required_approvals",
    "approval_validity_seconds",
    "signer_exclusions",
    "monitoring",
)


def _spec(data: dict[str, Any]) -> dict[str, Any]:
    return {field: data[field] for field in SPEC_FIELDS if field in data}


class PolicyCollectionApi(APIView):
    """GET: every policy with its current version and history (any role).

    POST: create a policy (its version 1), administrators only; audited."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": EVERY_ROLE, "POST": ADMIN_ROLES}

    @extend_schema(responses=listed(PolicyOutputSerializer), operation_id="v1_policies_list")
    def get(self, request: Request) -> Response:
        return Response({"results": PolicyOutputSerializer(selectors.policy_list(), many=True).data})

    class PolicyCreateInputSerializer(PolicySpecInputSerializer):
        name = serializers.CharField(max_length=100)
        description = serializers.CharField(allow_blank=True, default="")

    @extend_schema(request=PolicyCreateInputSerializer, responses={201: PolicyOutputSerializer})
    def post(self, request: Request) -> Response:
        data = valid(self.PolicyCreateInputSerializer, request.data)
        version = policy_create(
            actor=actor_from_request(request),
            name=data["name"],
            description=data["description"],
            spec=_spec(data),
        )
        policy = selectors.policy_get(name=version.policy.name)
        return Response(PolicyOutputSerializer(policy).data, status=status.HTTP_201_CREATED)


class PolicyDetailApi(APIView):
    permission_classes = [ANY_ROLE]

    @extend_schema(responses=PolicyOutputSerializer)
    def get(self, request: Request, name: str) -> Response:
        return Response(PolicyOutputSerializer(selectors.policy_get(name=name)).data)


class PolicyVersionCollectionApi(APIView):
    """GET: a policy's versions (any role).

    POST: change a policy, administrators only: a new version for new requests (``active: false``
    retires it); audited. Pending requests stay on the version they were made under."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": EVERY_ROLE, "POST": ADMIN_ROLES}

    @extend_schema(responses=listed(PolicyVersionOutputSerializer), operation_id="v1_policies_versions_list")
    def get(self, request: Request, name: str) -> Response:
        policy = selectors.policy_get(name=name)
        return Response({"results": PolicyVersionOutputSerializer(policy.versions.all(), many=True).data})

    class PolicyVersionCreateInputSerializer(PolicySpecInputSerializer):
        active = serializers.BooleanField(default=True)
        change_note = serializers.CharField(allow_blank=True, default="")

    @extend_schema(request=PolicyVersionCreateInputSerializer, responses={201: PolicyVersionOutputSerializer})
    def post(self, request: Request, name: str) -> Response:
        data = valid(self.PolicyVersionCreateInputSerializer, request.data)
        version = policy_version_create(
            actor=actor_from_request(request),
            policy=selectors.policy_get(name=name),
            spec=_spec(data),
            active=data["active"],
            change_note=data["change_note"],
        )
        return Response(PolicyVersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)


class GrantPublicKeyApi(APIView):
    """The Ed25519 key that verifies grants (any role); workers and auditors check grants with it."""

    permission_classes = [ANY_ROLE]

    class GrantPublicKeyOutputSerializer(serializers.Serializer[Any]):
        algorithm = serializers.CharField()
        key_id = serializers.CharField()
        public_key = serializers.CharField(help_text="the 32 raw key bytes, base64url without padding")
        pem = serializers.CharField()

    @extend_schema(responses=GrantPublicKeyOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(grant_public_key_published())
