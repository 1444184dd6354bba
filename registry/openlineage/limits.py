"""What the OpenLineage spec allows but our tables cannot hold, refused up front with the JSON path.

PostgreSQL refuses an over-long value or a U+0000 in jsonb with an error (a 500, which the
OpenLineage client would retry forever) where SQLite silently stores it; both answer 400 here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from governance.core.errors import ApplicationError
from registry.openlineage.plan import version_facet, version_node
from registry.openlineage.spec import EventKind

INVALID_EVENT = "invalid_openlineage_event"
MAX_NAMESPACE = 200
MAX_NAME = 300
MAX_VERSION = 200
MAX_NODE_ID = 700


class InvalidLineageEvent(ApplicationError):
    """The body is not an OpenLineage event we can store; ``detail`` is ``<path>: <problem>``."""

    code = INVALID_EVENT
    status = 400

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


def check_limits(kind: EventKind, event: dict[str, Any]) -> None:
    """Refuse what the spec allows but our tables cannot hold, naming the path."""
    _check_no_nul(event, "")
    if kind != "DatasetEvent":
        _check_name(event["job"], "job", "job")
    datasets: list[tuple[str, Mapping[str, Any]]] = []
    if kind == "DatasetEvent":
        datasets.append(("dataset", event["dataset"]))
    for side in ("inputs", "outputs"):
        datasets.extend((f"{side}[{n}]", item) for n, item in enumerate(event.get(side, [])))
    for path, dataset in datasets:
        _check_name(dataset, path, "dataset")
        found = version_facet(dataset)
        if found is not None:
            key, value = found
            where = f"{path}.facets.{key}.datasetVersion"
            if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
                raise InvalidLineageEvent(where, "must be a non-empty string")
            version = str(value)
            if len(version) > MAX_VERSION:
                raise InvalidLineageEvent(where, f"longer than {MAX_VERSION} characters")
            if len(version_node((dataset["namespace"], dataset["name"], version))) > MAX_NODE_ID:
                raise InvalidLineageEvent(
                    where, f"namespace, name and version together exceed {MAX_NODE_ID} characters"
                )


def parse_time(text: str) -> datetime:
    # validate_event checked RFC 3339 §5.6; Python wants an upper-case T/Z and has no leap second.
    normalised = text.upper()
    if normalised[17:19] == "60":
        normalised = normalised[:17] + "59" + normalised[19:]
    try:
        return datetime.fromisoformat(normalised)
    except ValueError as exc:  # pragma: no cover - the spec check accepts only parseable forms
        raise InvalidLineageEvent("eventTime", f"{text!r} is not an RFC 3339 date-time") from exc


def _check_name(item: Mapping[str, Any], path: str, prefix: str) -> None:
    if len(item["namespace"]) > MAX_NAMESPACE:
        raise InvalidLineageEvent(f"{path}.namespace", f"longer than {MAX_NAMESPACE} characters")
    if len(item["name"]) > MAX_NAME:
        raise InvalidLineageEvent(f"{path}.name", f"longer than {MAX_NAME} characters")
    # Room for "#<run id>" after a dataset's node id, the version named after the run.
    if len(f"{prefix}:{item['namespace']}:{item['name']}#") + 36 > MAX_NODE_ID:
        raise InvalidLineageEvent(path, "namespace and name together are too long for a node id")


def _check_no_nul(value: object, path: str) -> None:
    """PostgreSQL's jsonb cannot store U+0000 in a string; refuse it rather than fail with a 500.

    Every event is walked, so the walk builds no paths; only an event holding a NUL is walked again
    to name where."""
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            if "\x00" in item:
                _name_the_nul(value, path)
        elif type(item) is dict:
            for key, child in item.items():
                if "\x00" in key:
                    _name_the_nul(value, path)
                if type(child) is not str or "\x00" in child:
                    stack.append(child)
        elif type(item) is list:
            stack.extend(item)
        elif isinstance(item, str | dict | list):  # a subclass: the slow walk checks everything
            _name_the_nul(value, path)
            return


def _name_the_nul(value: object, path: str) -> None:
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise InvalidLineageEvent(where or "$", "strings must not contain U+0000")
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    raise InvalidLineageEvent(where or "$", "member names must not contain U+0000")
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{n}]") for n, child in enumerate(item))
