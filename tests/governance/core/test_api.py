"""The kernel's API helpers: roles per HTTP method, rows named in a body, cursor pages, validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from governance.core.api import MethodRoles, method_allowed_roles, must_exist, paginated, valid
from governance.core.errors import NotFound, ValidationFailed
from governance.core.roles import Role

User = get_user_model()


class UserOutput(serializers.Serializer[Any]):
    username = serializers.CharField()


class NameInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=5)


class CollectionApi(APIView):
    """A list (auditors, data scientists) and a create (data scientists only) on one path."""

    permission_classes = [MethodRoles]
    method_roles = {"GET": (Role.AUDITOR, Role.DATA_SCIENTIST), "POST": (Role.DATA_SCIENTIST,)}

    def get(self, request: Request) -> Response:
        return paginated(request, User.objects.all(), UserOutput, view=self, ordering="username")

    def post(self, request: Request) -> Response:
        return Response(valid(NameInput, request.data), status=201)


def call(method: str, user: Any, data: dict[str, Any] | None = None) -> Response:
    factory = APIRequestFactory()
    request = getattr(factory, method)("/things", data or {}, format="json")
    force_authenticate(request, user=user)
    response: Response = CollectionApi.as_view()(request)
    return response


@pytest.mark.django_db
def test_each_method_admits_only_its_own_roles(make_user: Callable[..., Any]) -> None:
    auditor = make_user("the-auditor", "auditor")
    scientist = make_user("the-scientist", "data_scientist")
    outsider = make_user("the-outsider", "pipeline")

    assert call("get", auditor).status_code == 200
    refused = call("post", auditor, {"name": "x"})
    assert refused.status_code == 403
    assert refused.data["error"] == "permission_denied"
    assert "data_scientist" in refused.data["detail"]
    assert call("post", scientist, {"name": "x"}).status_code == 201
    assert call("get", outsider).status_code == 403
    assert call("head", auditor).status_code == 200  # HEAD follows GET


@pytest.mark.django_db
def test_a_method_the_view_does_not_serve_is_405_for_members_and_403_for_outsiders(
    make_user: Callable[..., Any],
) -> None:
    assert call("delete", make_user("the-auditor", "auditor")).status_code == 405
    assert call("delete", make_user("the-outsider", "pipeline")).status_code == 403


def test_the_roles_of_a_method_can_be_read_off_the_view() -> None:
    assert method_allowed_roles(CollectionApi, "post") == {"data_scientist"}
    assert method_allowed_roles(CollectionApi, "get") == {"auditor", "data_scientist"}


@pytest.mark.django_db
def test_invalid_input_is_a_400_naming_the_field(make_user: Callable[..., Any]) -> None:
    response = call("post", make_user("the-scientist", "data_scientist"), {"name": "far too long"})
    assert response.status_code == 400
    assert "name" in str(response.data)


@pytest.mark.django_db
def test_pages_are_cursor_pages(make_user: Callable[..., Any]) -> None:
    scientist = make_user("the-scientist", "data_scientist")
    make_user("another", "auditor")
    factory = APIRequestFactory()
    request = factory.get("/things", {"page_size": 1})
    force_authenticate(request, user=scientist)
    page = CollectionApi.as_view()(request).data
    assert [row["username"] for row in page["results"]] == ["another"]
    assert page["next"]


@pytest.mark.django_db
def test_a_missing_row_named_in_a_body_is_a_bad_request_not_a_missing_page(
    make_user: Callable[..., Any],
) -> None:
    user = make_user("the-scientist", "data_scientist")
    assert must_exist(User.objects, username="the-scientist") == user
    assert must_exist(User.objects.filter(is_active=True), username="the-scientist") == user

    with pytest.raises(ValidationFailed, match=r"^username: no user with username='nobody'"):
        must_exist(User.objects, username="nobody")

    def missing() -> Any:
        raise NotFound("No run r-1.")

    with pytest.raises(ValidationFailed, match=r"^run_id: No run r-1\.$"):
        must_exist(missing, field="run_id")
