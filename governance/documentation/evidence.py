"""Small builders shared by the section modules: an evidence item, a section, and values as text."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from governance.documentation.types import NO_EVIDENCE, RECORDED, Evidence, Section


def item(
    label: str,
    source: str,
    facts: Mapping[str, Any] | None = None,
    *,
    sha256: str = "",
    headers: Sequence[str] = (),
    rows: Sequence[Sequence[Any]] = (),
) -> Evidence:
    """One evidence item; facts whose value is empty ("" or None) are left out, never filled in."""
    found: Evidence = {
        "label": label,
        "source": source,
        "facts": {key: value for key, value in (facts or {}).items() if value not in ("", None)},
    }
    if sha256:
        found["sha256"] = sha256
    if headers:
        found["table"] = {"headers": list(headers), "rows": [[text(cell) for cell in row] for row in rows]}
    return found


def section(
    id_: str, point: str, heading: str, evidence: Sequence[Evidence], not_recorded: Sequence[str] = ()
) -> Section:
    return {
        "id": id_,
        "point": point,
        "heading": heading,
        "status": RECORDED if evidence else NO_EVIDENCE,
        "evidence": list(evidence),
        "not_recorded": list(not_recorded),
    }


def utc(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def person(user: Any) -> str:
    if user is None:
        return ""
    return str(getattr(user, "full_name", "") or getattr(user, "username", ""))


def text(value: Any) -> str:
    """A value as table text: floats to 4 significant decimals, lists and objects as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
