"""Writing lineage edges: every service that links two nodes calls this inside its transaction."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from registry.models import LineageEdge

# Data-flow direction: input → output.
USED_BY = "used_by"  # dataset version → run (the run read it)
PRODUCED = "produced"  # run → dataset version or model version (the run wrote it)
DEPLOYED_AS = "deployed_as"  # model version → deployment
VERSION_OF = "version_of"  # dataset → dataset version (the version belongs to the dataset)
RUN_OF = "run_of"  # job → run
RELATIONS = frozenset({USED_BY, PRODUCED, DEPLOYED_AS, VERSION_OF, RUN_OF})


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
        now = timezone.now()
        LineageEdge.objects.bulk_create(
            [
                LineageEdge(source=source, target=target, relation=relation, created_at=now)
                for source, target, relation in distinct
            ],
            ignore_conflicts=True,
        )
    return len(distinct)


def _check_relation(relation: str) -> None:
    if relation not in RELATIONS:
        raise ValueError(f"unknown lineage relation {relation!r}")
