"""Writing lineage edges: every service that links two nodes calls this inside its transaction."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from registry.models import LineageEdge

# Data-flow direction: input → output.
USED_BY = "used_by"  # dataset version → run (the run read it)
PRODUCED = "produced"  # run → dataset version or model version (the run wrote it)
DEPLOYED_AS = "deployed_as"  # model version → deployment
VERSION_OF = "version_of"  # dataset → dataset version (the version belongs to the dataset)
RUN_OF = "run_of"  # job → run
# Job level, as Marquez serves lineage: what a job's runs read and write, summed over its runs.
JOB_INPUT = "job_input"  # dataset → job (a run of the job read a version of it)
JOB_OUTPUT = "job_output"  # job → dataset (a run of the job wrote a version of it)
JOB_LEVEL = frozenset({JOB_INPUT, JOB_OUTPUT})
RELATIONS = frozenset({USED_BY, PRODUCED, DEPLOYED_AS, VERSION_OF, RUN_OF, *JOB_LEVEL})


def edge_add(*, source: str, target: str, relation: str) -> bool:
    """Add one edge unless it exists; returns whether it was new. Idempotent, so replays change nothing."""
    _check_relation(relation)
    _, created = LineageEdge.objects.get_or_create(
        source=source, target=target, relation=relation, defaults={"created_at": timezone.now()}
    )
    return created


def edges_add(edges: Iterable[tuple[str, str, str]]) -> int:
    """Add ``(source, target, relation)`` edges that do not exist yet, in one INSERT; idempotent.

    Returns how many distinct edges were given (present now, new or not): with ``ON CONFLICT DO
    NOTHING`` PostgreSQL does not say which rows it skipped. An unknown relation stores nothing.
    """
    distinct = list(dict.fromkeys(edges))
    for _, _, relation in distinct:
        _check_relation(relation)
    if distinct:
        # Raw SQL on the ingestion hot path: bulk_create cost more CPU than the database spent on it.
        now = LineageEdge._meta.get_field("created_at").get_db_prep_save(timezone.now(), connection)
        quote = connection.ops.quote_name
        one = "(%s, %s, %s, %s)"
        sql = (
            f"INSERT INTO {quote(LineageEdge._meta.db_table)} (source, target, relation, created_at) "  # noqa: S608 - names from the model, values bound
            f"VALUES {', '.join([one] * len(distinct))} ON CONFLICT DO NOTHING"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for edge in distinct for value in (*edge, now)])
    return len(distinct)


def _check_relation(relation: str) -> None:
    if relation not in RELATIONS:
        raise ValueError(f"unknown lineage relation {relation!r}")
