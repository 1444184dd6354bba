"""Archiving instead of deleting, for every registry row an approval or a lineage edge may point to."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import Conflict

Row = TypeVar("Row", bound=Any)


@transaction.atomic
def row_archive(*, actor: Actor, row: Row, action: AuditAction, target: Target, what: str) -> Row:
    """Set ``archived_at`` once, with one audit entry.

    A conditional UPDATE: of two concurrent requests exactly one changes the row; the other gets 409.
    """
    now = timezone.now()
    if not type(row).objects.filter(pk=row.pk, archived_at__isnull=True).update(archived_at=now):
        raise Conflict(f"{what} is already archived")
    audit_record(actor=actor, action=action, target=target, data={"archived_at": now.isoformat()})
    row.refresh_from_db()
    return row
