"""What the registry's write services share: who acts, and the checks on digests and tags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from audit.actors import Actor
from governance.core.errors import PermissionRefused, ValidationFailed

SHA256_HEX: Final = re.compile(r"^[0-9a-f]{64}$")
TAG_KEY: Final = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
MAX_TAG_VALUE: Final = 500


def acting_user_id(actor: Actor) -> int:
    """The user behind an actor: rows record who did it (owner, created_by, deployed_by)."""
    user_id = actor.user_id
    if user_id is None:
        raise PermissionRefused("this action needs a user or a user's token")
    return user_id


def check_sha256(value: str, *, field: str) -> str:
    if not SHA256_HEX.match(value):
        raise ValidationFailed(
            f"{field}: {value!r} is not a SHA-256 digest; send 64 lowercase hexadecimal characters"
        )
    return value


def check_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not TAG_KEY.match(key):
            raise ValidationFailed(
                f"tags: {key!r} is not a tag key; use up to 100 letters, digits, '_', '.' or '-'"
            )
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise ValidationFailed(
                f"tags.{key}: a tag value is a string of at most {MAX_TAG_VALUE} characters"
            )
        checked[key] = value
    return checked
