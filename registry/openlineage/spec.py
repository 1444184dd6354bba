"""Validate incoming OpenLineage events against the OpenLineage 2-0-2 JSON Schema.

The schema file beside this module is the upstream ``spec/OpenLineage.json`` whose ``$id`` is
https://openlineage.io/spec/2-0-2/OpenLineage.json, stored verbatim. It is a JSON Schema
Draft 2020-12 document defining three event kinds under ``$defs``:

* ``RunEvent``: a run's state transition; needs ``run`` (with a UUID ``runId``) and ``job``;
  ``eventType`` is one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER;
* ``DatasetEvent``: static metadata about a ``dataset`` (no ``run``/``job`` together);
* ``JobEvent``: static metadata about a ``job`` (no ``run``).

All three need ``eventTime`` (RFC 3339 date-time), ``producer`` and ``schemaURL`` (URIs).
Facets are open by design (the spec's ``additionalProperties`` on every facet map): any facet
name is accepted, custom facets only need the base ``_producer``/``_schemaURL`` fields, and
this module never modifies the event, so unknown facets are kept as they arrived.

Formats are asserted (JSON Schema 2020-12 §7.2.3 leaves that to the validator): ``uuid``
(RFC 9562 §4 textual form), ``date-time`` (RFC 3339 §5.6) and ``uri`` (an RFC 3986 §3.1
scheme followed by text without whitespace). They are checked by the functions below rather
than jsonschema's optional format extras, so the result does not depend on which extras
happen to be installed.

Every event goes through a validator that fastjsonschema generates from the same schema and format
functions (many times cheaper than jsonschema's, and ingestion is a hot path); it accepts exactly
what jsonschema accepts for JSON-native documents (the tests compare the two). When it rejects an
event, or the event is not JSON-native (fastjsonschema also takes a tuple as an array, jsonschema
does not), jsonschema validates it and words the error, so the messages are unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

EventKind = Literal["RunEvent", "DatasetEvent", "JobEvent"]

SCHEMA_ID: Final = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
SCHEMA_FILE: Final = Path(__file__).with_name("OpenLineage-2-0-2.json")
_MAX_MESSAGE = 240  # jsonschema quotes whole sub-documents; an error message should stay readable


class OpenLineageError(ValueError):
    """An event that is not valid OpenLineage 2-0-2.

    ``path`` is where in the event the problem is (``$`` for the event itself, otherwise
    dotted keys and ``[index]``, e.g. ``inputs[0].facets.schema``); ``kind`` is the event kind
    it was checked as, if it got that far.
    """

    def __init__(self, path: str, problem: str, kind: EventKind | None = None) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
        self.kind = kind


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$", re.ASCII
)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f]*$")


def is_uuid(value: object) -> bool:
    """RFC 9562 §4 string form (8-4-4-4-12 hex digits); non-strings pass, as the spec's
    ``format`` applies only to strings (JSON Schema 2020-12 validation §7.1)."""
    return not isinstance(value, str) or _UUID.match(value) is not None


def is_date_time(value: object) -> bool:
    """RFC 3339 §5.6 ``date-time``: full date, ``T``, time with seconds, and a zone offset."""
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if match.group(9) is not None and (int(match.group(9)) > 23 or int(match.group(10)) > 59):
        return False
    # RFC 3339 allows a leap second (second 60); datetime does not, so check second 59 instead.
    try:
        datetime(year, month, day, hour, minute, min(second, 59))  # noqa: DTZ001 - range check only
    except ValueError:
        return False
    return second <= 60


def is_uri(value: object) -> bool:
    """An absolute URI (RFC 3986 §4.3): a scheme, a colon, and no whitespace or control characters."""
    return not isinstance(value, str) or _URI.match(value) is not None


def load_schema() -> dict[str, Any]:
    """The OpenLineage 2-0-2 schema document, parsed."""
    text = SCHEMA_FILE.read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validators() -> dict[EventKind, Any]:
    """One compiled validator per event kind, built on first use and reused afterwards."""
    schema = load_schema()
    registry: Registry[Any] = Registry().with_resource(SCHEMA_ID, Resource.from_contents(schema))
    checker = FormatChecker(formats=())
    checker.checks("uuid")(is_uuid)
    checker.checks("date-time")(is_date_time)
    checker.checks("uri")(is_uri)
    kinds: tuple[EventKind, ...] = ("RunEvent", "DatasetEvent", "JobEvent")
    validators: dict[EventKind, Any] = {}
    for kind in kinds:
        root = {"$schema": schema["$schema"], "$ref": f"{SCHEMA_ID}#/$defs/{kind}"}
        Draft202012Validator.check_schema(root)
        validators[kind] = Draft202012Validator(root, registry=registry, format_checker=checker)
    return validators


@cache
def _fast_validators() -> dict[EventKind, Any]:
    """One fastjsonschema validator per event kind, generated on first use.

    The schema's keywords (``$ref`` without siblings, ``$defs``, ``allOf``/``anyOf``/``oneOf``,
    ``not``, ``properties``, ``additionalProperties``, ``required``, ``items`` with one schema,
    ``enum``, ``type``, ``format``) mean the same in Draft 2019-09, which fastjsonschema implements,
    as in Draft 2020-12. ``use_default=False``: the event is never modified.
    """
    schema = load_schema()
    formats = {"uuid": is_uuid, "date-time": is_date_time, "uri": is_uri}
    kinds: tuple[EventKind, ...] = ("RunEvent", "DatasetEvent", "JobEvent")
    return {
        kind: fastjsonschema.compile(
            {"$id": SCHEMA_ID, "$defs": schema["$defs"], "$ref": f"#/$defs/{kind}"},
            formats=formats,
            use_default=False,
        )
        for kind in kinds
    }


def _json_native(value: object) -> bool:
    """Whether a document holds only what ``json.loads`` produces (the fast validator's domain)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(type(key) is str for key in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and type(item) not in (str, int, float, bool):
            return False
    return True


def event_kind(event: dict[str, Any]) -> EventKind | None:
    """Which definition an event is meant to satisfy, judged by the members that only it has."""
    if "run" in event:
        return "RunEvent"
    if "dataset" in event:
        return "DatasetEvent"
    if "job" in event:
        return "JobEvent"
    return None


def validate_event(event: object) -> EventKind:
    """Return the kind of a valid OpenLineage 2-0-2 event, or raise :class:`OpenLineageError`.

    The error names the JSON path of the first (most relevant) problem, e.g.
    ``run.runId: 'abc' is not a 'uuid'``.
    """
    if not isinstance(event, dict):
        raise OpenLineageError("$", f"an event must be a JSON object, not {_json_type(event)}")
    kind = event_kind(event)
    if kind is None:
        raise OpenLineageError(
            "$",
            "not an OpenLineage event: a RunEvent has 'run' and 'job', a DatasetEvent has "
            "'dataset', a JobEvent has 'job'",
        )
    if kind == "DatasetEvent" and "job" in event:
        # The spec's root oneOf: with 'dataset' and 'job' and no 'run' the event is both a DatasetEvent
        # and a JobEvent, so it is neither.
        raise OpenLineageError(
            "job",
            "with 'dataset' and 'job' and no 'run' the event is both a DatasetEvent and a JobEvent; "
            "the spec's oneOf allows exactly one",
        )
    if _json_native(event):
        try:
            _fast_validators()[kind](event)
        except fastjsonschema.JsonSchemaException:
            pass  # jsonschema decides and words the error
        else:
            return kind
    error = best_match(_validators()[kind].iter_errors(event))
    if error is None:
        return kind
    # The spec wraps every facet map in a one-branch anyOf; "does not match anyOf" at the map
    # would hide which facet is wrong, so descend to the most relevant error underneath.
    while error.context:
        error = best_match(error.context)
    path = list(error.absolute_path)
    problem = str(error.message)
    if error.validator == "required" and isinstance(error.instance, dict):
        # Point at the missing member itself rather than at the object that lacks it.
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            path.append(missing[0])
            problem = "required property is missing"
    if len(problem) > _MAX_MESSAGE:
        problem = problem[: _MAX_MESSAGE - 1] + "…"
    raise OpenLineageError(json_path(path), problem, kind)


def json_path(parts: Iterable[object]) -> str:
    """Render a location as ``a.b[0].c``; keys that are not plain names are quoted: ``a["x.y"]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return out or "$"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    return type(value).__name__
