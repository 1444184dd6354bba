"""Reading the lineage graph: the neighbourhood of one node, in Marquez's shape.

Three walks, each one recursive query over ``registry_lineageedge`` (``WITH RECURSIVE``, which
PostgreSQL and SQLite both run); then the rows behind the node ids are loaded with one query per type.

* ``both`` (the API's and Marquez's): every node within ``depth`` edges, whichever way an edge points.
  A job is linked to the datasets its runs read (``job_input``) and write (``job_output``), so a job's
  query shows its inputs and outputs, a dataset's the jobs producing and consuming it, and the run and
  dataset-version detail beside them. Depth counts edges: Marquez's depth counts jobs, one job hop
  being two edges here (dataset → job → dataset).
* ``upstream`` / ``downstream``: edges walked against / with the data flow only.
* ``lineage_walk``, what reports and erasure tracing read: upstream and downstream in data-flow
  direction over run-level edges only (never the job-level summary, which joins every run of a job),
  so a model version's report lists exactly the runs and versions behind it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any, Final, Literal, TypedDict

from django.db import connection

from governance.core.errors import NotFound, ValidationFailed
from registry.edges import JOB_LEVEL
from registry.models import LineageEdge
from registry.selectors.lineage_nodes import NodeType, node_query, node_type, nodes_load

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_DIRECTION",
    "DIRECTIONS",
    "MAX_DEPTH",
    "Direction",
    "LineageGraph",
    "NodeType",
    "lineage_graph",
    "lineage_neighbourhood",
    "lineage_walk",
    "node_query",
    "node_type",
]

Direction = Literal["upstream", "downstream", "both"]
DIRECTIONS: Final[tuple[Direction, ...]] = ("upstream", "downstream", "both")
DEFAULT_DIRECTION: Final[Direction] = "both"
DEFAULT_DEPTH: Final = 20
MAX_DEPTH: Final = 100


class GraphEdge(TypedDict):
    origin: str
    destination: str


class GraphNode(TypedDict):
    id: str
    type: NodeType
    data: dict[str, Any] | None
    inEdges: list[GraphEdge]  # Marquez's field names
    outEdges: list[GraphEdge]  # Marquez's field names


class LineageGraph(TypedDict):
    graph: list[GraphNode]


_EDGES: Final = LineageEdge._meta.db_table
_JOB_LEVEL_SQL: Final = ", ".join(f"'{relation}'" for relation in sorted(JOB_LEVEL))

# UNION (not UNION ALL) drops a row already found, and the depth bound ends every path, so a cycle
# terminates. Edges are walked in data-flow direction downstream and against it upstream.
_DOWN_SQL: Final = f"""
down(source, target, depth) AS (
    SELECT source, target, 1 FROM {_EDGES} WHERE source = %s AND %s > 0 {{only}}
    UNION
    SELECT e.source, e.target, d.depth + 1
    FROM {_EDGES} e JOIN down d ON e.source = d.target
    WHERE d.depth < %s {{only_e}}
)"""  # noqa: S608 - the only interpolations are our own table name and relation names
_UP_SQL: Final = f"""
up(source, target, depth) AS (
    SELECT source, target, 1 FROM {_EDGES} WHERE target = %s AND %s > 0 {{only}}
    UNION
    SELECT e.source, e.target, u.depth + 1
    FROM {_EDGES} e JOIN up u ON e.target = u.source
    WHERE u.depth < %s {{only_e}}
)"""  # noqa: S608 - as above
_RUN_LEVEL = {
    "only": f"AND relation NOT IN ({_JOB_LEVEL_SQL})",
    "only_e": f"AND e.relation NOT IN ({_JOB_LEVEL_SQL})",
}
_ALL = {"only": "", "only_e": ""}
_REPORT_WALK_SQL: Final = (
    "WITH RECURSIVE"  # noqa: S608 - as above
    + _DOWN_SQL.format(**_RUN_LEVEL)
    + ","
    + _UP_SQL.format(**_RUN_LEVEL)
    + "\nSELECT source, target FROM down UNION SELECT source, target FROM up"
)
_DIRECTED_SQL: Final = {
    "downstream": "WITH RECURSIVE" + _DOWN_SQL.format(**_ALL) + "\nSELECT DISTINCT source, target FROM down",
    "upstream": "WITH RECURSIVE" + _UP_SQL.format(**_ALL) + "\nSELECT DISTINCT source, target FROM up",
}
# Both ways: the nodes within ``depth`` edges (a node may come back at several depths; UNION keeps
# each (node, depth) once), then every edge touching a node reached in fewer than ``depth`` steps.
_BOTH_SQL: Final = f"""
WITH RECURSIVE
reach(node, depth) AS (
    SELECT CAST(%s AS TEXT), 0
    UNION
    SELECT CAST(CASE WHEN e.source = r.node THEN e.target ELSE e.source END AS TEXT), r.depth + 1
    FROM {_EDGES} e JOIN reach r ON e.source = r.node OR e.target = r.node
    WHERE r.depth < %s
),
inner_nodes(node) AS (SELECT DISTINCT node FROM reach WHERE depth < %s)
SELECT e.source, e.target FROM {_EDGES} e WHERE e.source IN (SELECT node FROM inner_nodes)
UNION
SELECT e.source, e.target FROM {_EDGES} e WHERE e.target IN (SELECT node FROM inner_nodes)
"""  # noqa: S608 - as above


def lineage_walk(*, node_id: str, depth: int) -> list[tuple[str, str]]:
    """The distinct (origin, destination) run-level edges within ``depth`` steps up or down of
    ``node_id`` in data-flow direction: what reports and erasure tracing read."""
    with connection.cursor() as cursor:
        cursor.execute(_REPORT_WALK_SQL, [node_id, depth, depth, node_id, depth, depth])
        return [(str(source), str(target)) for source, target in cursor.fetchall()]


def lineage_neighbourhood(*, node_id: str, depth: int, direction: Direction) -> list[tuple[str, str]]:
    """The distinct (origin, destination) edges walked from ``node_id``: within ``depth`` edges either
    way (``both``), or against / with the data flow (``upstream`` / ``downstream``)."""
    with connection.cursor() as cursor:
        if direction == "both":
            cursor.execute(_BOTH_SQL, [node_id, depth, depth])
        else:
            cursor.execute(_DIRECTED_SQL[direction], [node_id, depth, depth])
        return [(str(source), str(target)) for source, target in cursor.fetchall()]


def lineage_graph(
    *, node_id: str, depth: int = DEFAULT_DEPTH, direction: Direction = DEFAULT_DIRECTION
) -> LineageGraph:
    """Every node walked from ``node_id`` (``lineage_neighbourhood``), with its data and the walked
    edges in and out of it. Raises ``NotFound`` for a node that is neither stored nor on any edge."""
    if not 0 <= depth <= MAX_DEPTH:
        raise ValidationFailed(f"depth: must be between 0 and {MAX_DEPTH}")
    if direction not in DIRECTIONS:
        raise ValidationFailed(f"direction: must be one of {', '.join(DIRECTIONS)}")
    node_id = _normalise(node_id)
    kind = node_type(node_id)
    if kind is None:
        raise NotFound(
            f"{node_id!r} is not a node id; use dataset:<namespace>:<name>[#<version>], "
            "job:<namespace>:<name>, run:<uuid>, model:<name>#<version> or deployment:<environment>:<model>"
        )
    edges = lineage_neighbourhood(node_id=node_id, depth=depth, direction=direction)
    ids = {node_id} | {end for edge in edges for end in edge}
    data = nodes_load(ids)
    if node_id not in data and not edges:
        raise NotFound(f"no lineage node {node_id!r}")
    return {"graph": _graph_nodes(ids, edges, data)}


def _graph_nodes(
    ids: set[str], edges: list[tuple[str, str]], data: dict[str, dict[str, Any]]
) -> list[GraphNode]:
    incoming: dict[str, list[GraphEdge]] = defaultdict(list)
    outgoing: dict[str, list[GraphEdge]] = defaultdict(list)
    for origin, destination in sorted(set(edges)):
        edge: GraphEdge = {"origin": origin, "destination": destination}
        outgoing[origin].append(edge)
        incoming[destination].append(edge)
    graph: list[GraphNode] = []
    for one in sorted(ids):
        one_type = node_type(one)
        if one_type is None:  # an edge to an id of no known form: show the edge's end, not the node
            continue
        graph.append(
            {
                "id": one,
                "type": one_type,
                "data": data.get(one),
                "inEdges": incoming.get(one, []),
                "outEdges": outgoing.get(one, []),
            }
        )
    return graph


def _normalise(node_id: str) -> str:
    """Run ids in the canonical lower-case form the edges use."""
    if node_id.startswith("run:"):
        try:
            return f"run:{uuid.UUID(node_id[4:])}"
        except ValueError:
            return node_id
    return node_id
