"""The one text form of an instant that is hashed, signed and sent: RFC 3339 in UTC with microseconds."""

from __future__ import annotations

from datetime import UTC, datetime

UTC_TEXT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_text(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``: the one spelling that is hashed and signed."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined instant; pass an aware one")
    return moment.astimezone(UTC).strftime(UTC_TEXT_FORMAT)


def parse_utc_text(text: str) -> datetime:
    """The instant ``utc_text`` wrote; any other spelling raises ValueError."""
    return datetime.strptime(text, UTC_TEXT_FORMAT).replace(tzinfo=UTC)
