from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.accounts import selectors, services
from governance.accounts.models import ApiToken, User
from governance.accounts.permissions import request_user
from governance.core.permissions import ANY_ROLE, user_roles
from governance.core.roles import Role
from governance.core.schema import listed


class MeApi(APIView):
    """Who am I? Any role."""

    permission_classes = [ANY_ROLE]

    class MeOutputSerializer(serializers.Serializer[User]):
        username = serializers.CharField()
        full_name = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request: Request) -> Response:
        user = request_user(request)
        return Response(
            {"username": user.username, "full_name": user.full_name, "roles": sorted(user_roles(user))}
        )


class TokenOutputSerializer(serializers.Serializer[object]):
    prefix = serializers.CharField()
    name = serializers.CharField()
    username = serializers.CharField(source="user.username")
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField(source="expiry_date", allow_null=True)
    revoked = serializers.BooleanField()
    revoked_at = serializers.DateTimeField(allow_null=True)


class TokenListApi(APIView):
    """Your own tokens (any role); an admin may add ``?username=`` to see another user's."""

    permission_classes = [ANY_ROLE]

    @extend_schema(responses=listed(TokenOutputSerializer), operation_id="v1_tokens_list")
    def get(self, request: Request) -> Response:
        user = request_user(request)
        wanted = request.query_params.get("username")
        if wanted and Role.ADMIN in user_roles(user):
            user = selectors.user_get(username=wanted)
        tokens = selectors.token_list(user=user)
        return Response({"results": TokenOutputSerializer(tokens, many=True).data})


class TokenIssueApi(APIView):
    """Issue a token for yourself (any role). The raw token is in this response only. It expires after
    ``expires_days`` (default ``API_TOKEN_DEFAULT_DAYS``, 90), and never after the token that asks."""

    permission_classes = [ANY_ROLE]

    class TokenIssueInputSerializer(serializers.Serializer[object]):
        name = serializers.CharField(max_length=50, required=False, default="token")
        expires_days = serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=services.MAX_TOKEN_DAYS
        )

    class TokenIssueOutputSerializer(TokenOutputSerializer):
        token = serializers.CharField()

    @extend_schema(request=TokenIssueInputSerializer, responses={201: TokenIssueOutputSerializer})
    def post(self, request: Request) -> Response:
        incoming = self.TokenIssueInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        user = request_user(request)
        token, raw = services.token_issue(
            actor=actor_from_request(request),
            user=user,
            name=incoming.validated_data["name"],
            expires_days=incoming.validated_data.get("expires_days"),
            issued_with=request.auth if isinstance(request.auth, ApiToken) else None,
        )
        body = dict(TokenOutputSerializer(token).data)
        body["token"] = raw
        return Response(body, status=status.HTTP_201_CREATED)


class TokenRevokeApi(APIView):
    """Revoke one of your tokens (any role); an admin may revoke anyone's."""

    permission_classes = [ANY_ROLE]

    @extend_schema(request=None, responses=TokenOutputSerializer)
    def post(self, request: Request, prefix: str) -> Response:
        user = request_user(request)
        owner = None if Role.ADMIN in user_roles(user) else user
        token = services.token_revoke(actor=actor_from_request(request), prefix=prefix, owner=owner)
        return Response(TokenOutputSerializer(token).data)
