"""Applying a lineage plan on PostgreSQL: one call of ``registry_lineage_ingest`` (registry/sql/).

One round trip instead of about a dozen (event row, job, run, datasets, versions, edges, run links,
audit queue row): at pipeline speed those round trips, and the client and server work each costs,
were most of an event's price. The function does what ``registry.services.lineage._ingest_rows``
does on SQLite, with the same result; the whole test suite runs on both.

Called outside a transaction, the one statement is its own transaction; inside one (a training job
recording its run), it joins it. Either way the audit entry is sequenced after the commit.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_fields, integrate_after_commit
from registry.models import LineageEvent
from registry.openlineage.plan import LineagePlan

_CALL = "SELECT o_event_id, o_created FROM registry_lineage_ingest(%s::jsonb)"


def lineage_plan_apply(
    stored: LineageEvent, plan: LineagePlan, *, actor: Actor, audit_data: dict[str, Any]
) -> bool:
    """Write the event and its plan; False (nothing written, ``stored.pk`` set to the earlier row's id)
    when an identical event was stored before. The function sets the audit entry's target id to the
    new event's id."""
    audit = audit_fields(
        actor=actor,
        action=AuditAction.LINEAGE_EVENT_INGEST,
        target=Target.of("lineage_event", "?"),
        data=audit_data,
        now=stored.received_at,
    )
    document = _plan_document(stored, plan, audit)
    with connection.cursor() as cursor:
        cursor.execute(_CALL, [json.dumps(document, ensure_ascii=False)])
        event_id, created = cursor.fetchone()
    stored.pk = event_id
    if created:
        stored._state.adding = False
        stored._state.db = connection.alias
        integrate_after_commit()
    return bool(created)


def _plan_document(stored: LineageEvent, plan: LineagePlan, audit: dict[str, Any]) -> dict[str, Any]:
    """The function's one argument: the event row, its job, run, datasets, versions, edges and links,
    and the audit fields to queue."""
    run = plan.run
    return {
        "now": stored.received_at.isoformat(),
        "event_time": stored.event_time.isoformat(),
        "user": stored.received_by_id,
        "event": {
            "kind": stored.kind,
            "event_type": stored.event_type,
            "event_time": stored.event_time.isoformat(),
            "run_id": str(stored.run_id) if stored.run_id else None,
            "body": stored.body,
            "body_sha256": stored.body_sha256,
        },
        "job": (
            {"namespace": plan.job[0], "name": plan.job[1], "facets": plan.job_facets} if plan.job else None
        ),
        "run": (
            {
                "run_id": str(run.run_id),
                "event_type": run.event_type,
                "event_time": run.event_time.isoformat(),
                "facets": run.facets,
            }
            if run
            else None
        ),
        # Sorted: concurrent events then lock shared rows in the same order.
        "datasets": [
            {"namespace": key[0], "name": key[1], "facets": facets}
            for key, facets in sorted(plan.datasets.items())
        ],
        "versions": [
            {"namespace": key[0], "name": key[1], "version": key[2], "facets": facets}
            for key, facets in sorted(plan.versions.items())
        ],
        "edges": sorted(plan.edges),
        # Inputs sent without a version: the function binds them (registry.openlineage.plan).
        "bind": [{"namespace": namespace, "name": name} for namespace, name in sorted(plan.bind)],
        "links": [
            {"side": side, "namespace": namespace, "name": name, "version": version}
            for side, keys in (("input", plan.inputs), ("output", plan.outputs))
            for namespace, name, version in keys
        ],
        "audit": audit,
    }
