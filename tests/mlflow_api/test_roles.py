"""Every MLflow endpoint names its roles: pipelines and data scientists write, compliance officers and
auditors read, administrators are refused; refusals come in MLflow's error shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient
from rest_framework.views import APIView

from governance.core.roles import Role

pytestmark = pytest.mark.django_db

READERS = {Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER, Role.AUDITOR}
WRITERS = {Role.DATA_SCIENTIST, Role.PIPELINE}
READ_OPERATIONS = {("registered-models/get-latest-versions", "post")}


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, type[APIView]]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            view = getattr(pattern.callback, "view_class", None)
            if view is not None and issubclass(view, APIView) and route.startswith("api/2.0/mlflow/"):
                yield route.removeprefix("api/2.0/mlflow/"), view


OPERATIONS = sorted(
    (path, method)
    for path, view in _walk(get_resolver().url_patterns)
    for method in ("get", "post", "patch", "delete")
    if hasattr(view, method)
)


def test_every_operation_of_the_issue_is_served() -> None:
    assert len({path for path, _ in OPERATIONS}) == 19
    assert ("registered-models/alias", "delete") in OPERATIONS


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_each_operation_admits_exactly_its_roles(path: str, method: str, token_client: Any) -> None:
    reading = method == "get" or (path, method) in READ_OPERATIONS
    allowed = READERS if reading else WRITERS
    url = f"/api/2.0/mlflow/{path}"
    anonymous = getattr(APIClient(), method)(url, format="json")
    assert (anonymous.status_code, anonymous.json()["error_code"]) == (401, "UNAUTHENTICATED")
    for role in Role.values:
        client, _ = token_client(f"u-{role}", role)
        response = getattr(client, method)(url, {"name": "nope"}, format="json")
        if role in allowed:
            assert response.status_code in (200, 400, 404), (role, response.json())
        else:
            assert (response.status_code, response.json()["error_code"]) == (403, "PERMISSION_DENIED"), role
