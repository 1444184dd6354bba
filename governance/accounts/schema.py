"""Tells drf-spectacular how the Bearer token scheme appears in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


# drf-spectacular registers extensions in an untyped __init_subclass__.
class BearerTokenSchemeExtension(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "governance.accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "An API token from `issuetoken`."}
