"""Fields shared by the consent APIs."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.apis.common import JURISDICTION_ERRORS
from registry.models import Jurisdiction


# Inline in the schema: as a component it would be a second name ("JurisdictionEnum") for the choice
# set the registry's dataset API already names, which drf-spectacular reports as a warning.
@extend_schema_field({"type": "string", "enum": list(Jurisdiction.values)})
class JurisdictionField(serializers.ChoiceField):
    """Where the data subject is (eu_eea, uk, california or other): it sets the rules that apply."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Jurisdiction.choices, error_messages=JURISDICTION_ERRORS, **kwargs)
