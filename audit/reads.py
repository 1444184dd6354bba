"""Reading the audit log is itself an audit entry (``audit.read``): its entries hold pseudonymous
personal data (who did what to which subject's data), and an auditor asks who looked at them.

One entry per request that showed entries, naming what was read: the index of one entry, or the lowest
and highest index of a page of them with their count and the filters that chose them. Free-text filter
values (a name typed in the actor filter, a target id) may be anything a person typed, raw personal data
included: they enter the log as keyed hashes (``filters_for_audit``), never as typed.

Not audited: the public proof, checkpoint and key endpoints (hashes and signatures only, no entry's
contents; auditing them would let anyone without an account grow the log), and a read that showed
nothing (an empty page, an index with no entry: 404).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.pseudonyms import keyed_hash

FILTER_DOMAIN: Final = "audit_filter"
# Filters whose values are numbers, dates or one of a closed set of codes: recorded as given.
PLAIN_FILTERS: Final = frozenset(
    {"start", "end", "limit", "action", "actor_type", "since", "until", "page", "per_page", "sort"}
    | {"status", "overdue", "type", "jurisdiction", "open"}
)


def filters_for_audit(params: Mapping[str, Any], *, plain: Collection[str] = PLAIN_FILTERS) -> dict[str, str]:
    """The filters of a read as an audit entry's data: ``plain`` ones as given, any other (free text)
    as the keyed hash of its value, so that a raw id or a name typed into a filter never enters the log."""
    recorded: dict[str, str] = {}
    for name, value in sorted(params.items()):
        if value is None or value == "":
            continue
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        recorded[name] = text if name in plain else "hmac:" + keyed_hash(text, domain=FILTER_DOMAIN)
    return recorded


def audit_entry_read(*, actor: Actor, index: int, via: str) -> None:
    """Record that ``actor`` read entry ``index`` (``via``: ``page``)."""
    audit_record(
        actor=actor,
        action=AuditAction.AUDIT_READ,
        target=Target.of("audit_entry", index),
        data={"via": via},
    )


def audit_entries_read(*, actor: Actor, indices: Iterable[int], filters: Mapping[str, Any], via: str) -> bool:
    """Record that ``actor`` read the entries ``indices`` (a page of a list; ``via``: ``api`` or
    ``page``), chosen by ``filters``. Nothing shown, nothing recorded: returns whether it recorded."""
    shown = sorted(set(indices))
    if not shown:
        return False
    audit_record(
        actor=actor,
        action=AuditAction.AUDIT_READ,
        target=Target.of("audit_entries", f"{shown[0]}..{shown[-1]}"),
        data={"via": via, "count": len(shown), "filters": filters_for_audit(filters)},
    )
    return True
