"""Filters every console page uses, so that a date, a duration or a set of parameters reads the same
everywhere (issue 17, "trust polish"). Registered as a template builtin (settings ``TEMPLATES``), so no
``{% load %}`` is needed; ``{% load console %}`` works too.

- ``{{ moment|when }}``: ``<time datetime="…" title="…">2026-12-03 14:05 UTC</time>``: UTC, ISO date and
  time to the minute; the full value (RFC 3339, microseconds) on hover and for assistive technology.
- ``{{ moment|when_text }}``: the same words without markup (attributes, plain-text messages).
- ``{{ seconds|duration }}``: ``7 days``, ``1 hour 30 minutes``, ``45 seconds`` (an int, float or
  timedelta).
- ``{{ mapping|deflist }}``: a ``<dl class="params">`` of keys and values, nested mappings as nested
  lists, lists as comma-separated values; never a Python repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

MINUTE_FORMAT = "%Y-%m-%d %H:%M UTC"
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _instant(value: Any) -> datetime | date | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return _instant(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _full(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return moment.isoformat()


def _short(moment: datetime | date) -> str:
    return moment.strftime(MINUTE_FORMAT) if isinstance(moment, datetime) else moment.isoformat()


@register.filter(is_safe=True)
def when(value: Any) -> SafeString | str:
    """An instant as ``2026-12-03 14:05 UTC`` with the full value on hover; ``—`` when there is none."""
    moment = _instant(value)
    if moment is None:
        return "—" if value in (None, "") else str(value)
    full = _full(moment)
    return format_html('<time datetime="{}" title="{}">{}</time>', full, full, _short(moment))


@register.filter
def when_text(value: Any) -> str:
    moment = _instant(value)
    if moment is None:
        return "—" if value in (None, "") else str(value)
    return _short(moment)


@register.filter
def duration(value: Any) -> str:
    """Seconds (or a timedelta) in words: the two largest units, e.g. ``7 days``, ``1 day 2 hours``."""
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
    else:
        try:
            seconds = int(float(value))
        except (TypeError, ValueError):
            return "—" if value in (None, "") else str(value)
    if seconds == 0:
        return "0 seconds"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    parts = []
    for name, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
    return sign + " ".join(parts[:2])


def _value(value: Any) -> SafeString | str:
    if isinstance(value, Mapping):
        return deflist(value)
    if isinstance(value, list | tuple | set | frozenset):
        if any(isinstance(item, Mapping) for item in value):
            return format_html_join("", "<div>{}</div>", ((_value(item),) for item in value))
        return ", ".join(str(item) for item in value) or "—"
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@register.filter(is_safe=True)
def deflist(value: Any) -> SafeString | str:
    """A mapping as a definition list (keys in the order given); anything else as plain text."""
    if not isinstance(value, Mapping):
        return _value(value)
    if not value:
        return mark_safe('<span class="muted">none</span>')
    rows = format_html_join(
        "", "<dt>{}</dt><dd>{}</dd>", ((key, _value(item)) for key, item in value.items())
    )
    return format_html('<dl class="params">{}</dl>', rows)
