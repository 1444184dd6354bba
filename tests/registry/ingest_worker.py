"""A separate process that sends OpenLineage events through the ingestion service, overlapping with
its siblings: the same START events, and COMPLETE events that merge their own facet into one shared
dataset."""

from __future__ import annotations

import os
import sys
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings.base")

PRODUCER = "https://github.com/acme/pipelines"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def run_id(n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"concurrent-ingest/{n}"))


def events(worker: int, n: int) -> list[dict[str, object]]:
    job = {"namespace": "nightly", "name": f"features-{n % 3}"}
    start = {
        "eventType": "START",
        "eventTime": "2026-03-01T08:00:00Z",
        "producer": PRODUCER,
        "schemaURL": SCHEMA,
        "run": {"runId": run_id(n)},
        "job": job,
    }
    complete = {
        **start,
        "eventType": "COMPLETE",
        "eventTime": f"2026-03-01T09:00:{worker:02d}Z",
        "inputs": [
            {
                "namespace": "warehouse",
                "name": "shared.customers",
                "facets": {f"seenBy{worker}": {"_producer": PRODUCER, "_schemaURL": f"{PRODUCER}/s.json"}},
            }
        ],
        "outputs": [{"namespace": "lake", "name": f"features/{n}"}],
    }
    return [start, complete]


def main(worker: int, count: int) -> None:
    import django

    django.setup()
    from audit.actors import Actor
    from governance.accounts.models import User
    from registry.services.lineage import lineage_event_ingest

    user = User.objects.get(username="ingest-pipeline")
    for n in range(count):
        for event in events(worker, n):
            lineage_event_ingest(actor=Actor.for_user(user), user=user, event=event)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
