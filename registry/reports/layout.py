"""A deterministic left-to-right layered graph layout for lineage reports.

This is the classic Sugiyama scheme (Sugiyama, Tagawa & Toda, 1981) reduced to what a
report needs:

1. break cycles by reversing a greedy set of feedback edges (lineage should be acyclic, but
   the data comes from users and pipelines, so a cycle must not hang or crash the report);
2. assign layers by longest path from the sources;
3. split edges that span several layers with virtual nodes, so that long edges are routed
   around boxes instead of through them;
4. order each layer by the barycentre heuristic, sweeping down and up a few times and
   keeping the order with the fewest crossings;
5. give every node a centre point: ``x`` from its layer, ``y`` from its slot in the layer.

Time flows left to right. Edges in a :class:`~registry.reports.types.LineageReport` point in
the W3C PROV direction (from the later thing to the earlier one, PROV-DM §5), except
``deployedAs``; the layout turns each edge into its *flow* direction (cause → effect) before
layering, so dataset versions come first, then runs, then model versions, then deployments.

Everything is ordered by the input order of the nodes, never by hashing, so the same report
always produces the same picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from registry.reports.types import ReportEdge, ReportNode

Point = tuple[float, float]

# Relations whose PROV direction already runs with time (cause → effect); the rest run against it.
_FORWARD_RELATIONS = frozenset({"deployedAs"})

_SWEEPS = 4  # barycentre sweeps down and up; more rarely helps lineage-shaped graphs


@dataclass(frozen=True)
class RoutedEdge:
    """An edge of the report with the points it should be drawn through.

    ``points`` runs from the source node's centre, through the centres of any virtual nodes,
    to the target node's centre, in the edge's own (PROV) direction.
    """

    source: str
    target: str
    relation: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Layout:
    """Node centres, edge routes and the overall extent of a layered layout."""

    positions: dict[str, Point]
    layers: dict[str, int]
    edges: tuple[RoutedEdge, ...]
    width: float
    height: float
    layer_gap: float
    row_gap: float
    reversed_edges: tuple[tuple[str, str], ...] = field(default=())


def flow_direction(edge: ReportEdge) -> tuple[str, str]:
    """Return ``(upstream, downstream)`` for an edge, i.e. its direction in time."""
    if edge["relation"] in _FORWARD_RELATIONS:
        return edge["source"], edge["target"]
    return edge["target"], edge["source"]


def layered_layout(
    nodes: Sequence[ReportNode],
    edges: Sequence[ReportEdge],
    *,
    layer_gap: float = 260.0,
    row_gap: float = 96.0,
) -> dict[str, Point]:
    """Return the centre ``(x, y)`` of every node; layers are ``layer_gap`` apart on x.

    Edges naming unknown nodes and self-loops are ignored; cycles are broken, not rejected.
    """
    return compute_layout(nodes, edges, layer_gap=layer_gap, row_gap=row_gap).positions


# long: one layered-drawing algorithm (ranks, crossing reduction, coordinates) over shared state.
def compute_layout(
    nodes: Sequence[ReportNode],
    edges: Sequence[ReportEdge],
    *,
    layer_gap: float = 260.0,
    row_gap: float = 96.0,
) -> Layout:
    """Like :func:`layered_layout`, and also route the edges through their virtual nodes."""
    order: list[str] = []
    seen: set[str] = set()
    for node in nodes:
        if node["id"] not in seen:
            seen.add(node["id"])
            order.append(node["id"])
    index = {node_id: i for i, node_id in enumerate(order)}

    flow_edges: list[tuple[str, str]] = []
    unique_flow: set[tuple[str, str]] = set()
    for edge in edges:
        upstream, downstream = flow_direction(edge)
        if upstream not in index or downstream not in index or upstream == downstream:
            continue
        if (upstream, downstream) not in unique_flow:
            unique_flow.add((upstream, downstream))
            flow_edges.append((upstream, downstream))

    acyclic, reversed_edges = _break_cycles(order, index, flow_edges)
    layer = _longest_path_layers(order, acyclic)

    # Virtual nodes: one per layer crossed, named so they cannot collide with report ids
    # (report ids are strings; these are tuples in a separate namespace).
    layers_of: dict[int, list[object]] = {}
    for node_id in order:
        layers_of.setdefault(layer[node_id], []).append(node_id)
    chains: dict[tuple[str, str], list[object]] = {}
    succ: dict[object, list[object]] = {}
    pred: dict[object, list[object]] = {}
    for upstream, downstream in acyclic:
        chain: list[object] = [upstream]
        for step in range(layer[upstream] + 1, layer[downstream]):
            virtual = ("virtual", upstream, downstream, step)
            layers_of.setdefault(step, []).append(virtual)
            chain.append(virtual)
        chain.append(downstream)
        chains[(upstream, downstream)] = chain
        for a, b in pairwise(chain):
            succ.setdefault(a, []).append(b)
            pred.setdefault(b, []).append(a)

    depth = max(layers_of) + 1 if layers_of else 0
    ranks = [layers_of.get(i, []) for i in range(depth)]
    ranks = _order_layers(ranks, succ, pred)

    tallest = max((len(rank) for rank in ranks), default=0)
    centre: dict[object, Point] = {}
    for layer_index, rank in enumerate(ranks):
        # Centre short layers against the tallest one so the picture reads as a band.
        offset = (tallest - len(rank)) / 2.0
        for slot, item in enumerate(rank):
            centre[item] = (layer_index * layer_gap, (slot + offset) * row_gap)

    routed: list[RoutedEdge] = []
    for edge in edges:
        upstream, downstream = flow_direction(edge)
        if upstream not in index or downstream not in index or upstream == downstream:
            continue
        if (upstream, downstream) in chains:
            points = [centre[item] for item in chains[(upstream, downstream)]]
        else:
            # A feedback edge: it was laid out reversed, so walk its chain backwards.
            points = [centre[item] for item in reversed(chains[(downstream, upstream)])]
        if edge["source"] != upstream:
            points.reverse()
        routed.append(RoutedEdge(edge["source"], edge["target"], edge["relation"], tuple(points)))

    positions = {node_id: centre[node_id] for node_id in order}
    return Layout(
        positions=positions,
        layers={node_id: layer[node_id] for node_id in order},
        edges=tuple(routed),
        width=max(depth - 1, 0) * layer_gap,
        height=max(tallest - 1, 0) * row_gap,
        layer_gap=layer_gap,
        row_gap=row_gap,
        reversed_edges=tuple(reversed_edges),
    )


def _break_cycles(
    order: list[str], index: dict[str, int], flow_edges: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Make the edge set acyclic: Kahn's algorithm, and when it stalls on a cycle, pick the
    earliest remaining node with the fewest unprocessed predecessors and reverse those edges.

    Returns the acyclic edges (in input order, reversed ones flipped) and the reversed ones.
    """
    incoming: dict[str, set[str]] = {node_id: set() for node_id in order}
    outgoing: dict[str, list[str]] = {node_id: [] for node_id in order}
    for upstream, downstream in flow_edges:
        incoming[downstream].add(upstream)
        outgoing[upstream].append(downstream)

    remaining = set(order)
    to_reverse: set[tuple[str, str]] = set()
    ready = sorted((n for n in order if not incoming[n]), key=index.__getitem__)
    while remaining:
        if not ready:
            # Only cycles are left: cut into one where it costs the fewest reversals.
            pick = min(remaining, key=lambda n: (len(incoming[n]), index[n]))
            for upstream in incoming[pick]:
                to_reverse.add((upstream, pick))
                outgoing[upstream].remove(pick)
            incoming[pick] = set()
            ready = [pick]
        node_id = ready.pop(0)
        if node_id not in remaining:
            continue
        remaining.discard(node_id)
        released: list[str] = []
        for downstream in outgoing[node_id]:
            incoming[downstream].discard(node_id)
            if not incoming[downstream] and downstream in remaining:
                released.append(downstream)
        ready = sorted(set(ready) | set(released), key=index.__getitem__)

    acyclic: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for upstream, downstream in flow_edges:
        pair = (downstream, upstream) if (upstream, downstream) in to_reverse else (upstream, downstream)
        if pair not in seen:
            seen.add(pair)
            acyclic.append(pair)
    return acyclic, sorted(to_reverse, key=lambda p: (index[p[0]], index[p[1]]))


def _longest_path_layers(order: list[str], acyclic: list[tuple[str, str]]) -> dict[str, int]:
    """Layer = length of the longest path from any source (sources are layer 0)."""
    preds: dict[str, list[str]] = {node_id: [] for node_id in order}
    succs: dict[str, list[str]] = {node_id: [] for node_id in order}
    for upstream, downstream in acyclic:
        preds[downstream].append(upstream)
        succs[upstream].append(downstream)
    pending = {node_id: len(preds[node_id]) for node_id in order}
    queue = [node_id for node_id in order if pending[node_id] == 0]
    layer = dict.fromkeys(order, 0)
    head = 0
    while head < len(queue):
        node_id = queue[head]
        head += 1
        for downstream in succs[node_id]:
            layer[downstream] = max(layer[downstream], layer[node_id] + 1)
            pending[downstream] -= 1
            if pending[downstream] == 0:
                queue.append(downstream)
    return layer


def _order_layers(
    ranks: list[list[object]], succ: dict[object, list[object]], pred: dict[object, list[object]]
) -> list[list[object]]:
    """Barycentre ordering with alternating sweeps; keeps the best order seen."""
    best = [list(rank) for rank in ranks]
    best_crossings = _count_crossings(best, succ)
    current = [list(rank) for rank in ranks]
    for sweep in range(_SWEEPS):
        if sweep % 2 == 0:
            for i in range(1, len(current)):
                current[i] = _barycentre_sort(current[i], current[i - 1], pred)
        else:
            for i in range(len(current) - 2, -1, -1):
                current[i] = _barycentre_sort(current[i], current[i + 1], succ)
        crossings = _count_crossings(current, succ)
        if crossings < best_crossings:
            best = [list(rank) for rank in current]
            best_crossings = crossings
        if best_crossings == 0:
            break
    return best


def _barycentre_sort(
    rank: list[object], fixed: list[object], neighbours: dict[object, list[object]]
) -> list[object]:
    position = {item: i for i, item in enumerate(fixed)}

    def key(item_and_slot: tuple[int, object]) -> tuple[float, int]:
        slot, item = item_and_slot
        linked = [position[n] for n in neighbours.get(item, []) if n in position]
        # Nodes without neighbours in the fixed layer keep their slot, which keeps the sort stable.
        return (sum(linked) / len(linked) if linked else float(slot), slot)

    return [item for _, item in sorted(enumerate(rank), key=key)]


def _count_crossings(ranks: list[list[object]], succ: dict[object, list[object]]) -> int:
    """Pairs of edges between adjacent layers that cross (an inversion count per layer pair)."""
    total = 0
    for upper, lower in pairwise(ranks):
        lower_pos = {item: i for i, item in enumerate(lower)}
        targets: list[int] = []
        for item in upper:
            targets.extend(sorted(lower_pos[n] for n in succ.get(item, []) if n in lower_pos))
        total += _inversions(targets)
    return total


def _inversions(values: list[int]) -> int:
    """Number of pairs i < j with values[i] > values[j], by merge sort (O(n log n))."""
    if len(values) < 2:
        return 0
    middle = len(values) // 2
    left, right = values[:middle], values[middle:]
    count = _inversions(left) + _inversions(right)
    left.sort()
    right.sort()
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            i += 1
        else:
            count += len(left) - i
            j += 1
    return count
