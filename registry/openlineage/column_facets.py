"""The ``schema``, ``columnLineage`` and ``tags`` dataset facets of an event, read as columns and
column edges, without the database; what our tables cannot hold is refused with the JSON path.

Shapes (OpenLineage facets, not bundled with the 2-0-2 core spec, which leaves facets open):

- SchemaDatasetFacet 1-2-0: ``fields``: ``[{name, type?, description?, ordinal_position?, fields?}]``,
  nested struct fields stored as dotted paths (``address.city``).
- ColumnLineageDatasetFacet 1-2-0, on outputs: ``fields``: ``{output field: {inputFields: [{namespace,
  name, field, transformations?: [{type, subtype?, description?, masking?}]}], transformationType?,
  transformationDescription?}}`` (the last two deprecated: IDENTITY or MASKED for every input), and
  ``dataset``: input fields that affect the whole output (filters, joins, sorts).
- TagsDatasetFacet 1-0-0: ``tags``: ``[{key, value, source?, field?}]``; a tag with key ``fideslang``
  (or ``data_category``) and a ``field`` declares that column's fideslang data category.

A facet sent as ``{"_deleted": true}`` (the spec's way to remove one) describes no columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from registry.fideslang import FIDESLANG_KEY
from registry.openlineage.limits import MAX_NAME, MAX_NAMESPACE, InvalidLineageEvent
from registry.openlineage.plan import facet_version
from registry.openlineage.spec import EventKind

MAX_FIELDS: Final = 5_000  # schema fields per facet, nested ones included
MAX_FIELD_DEPTH: Final = 16  # struct nesting
MAX_FIELD_NAME: Final = 1_000  # a dotted path
MAX_FIELD_TYPE: Final = 200
MAX_DESCRIPTION: Final = 4_000
MAX_COLUMN_EDGES: Final = 20_000  # (input field, transformation) pairs per columnLineage facet
MAX_TRANSFORMATION_TYPE: Final = 32
MAX_TRANSFORMATION_SUBTYPE: Final = 64
CATEGORY_TAG_KEYS: Final = frozenset({"fideslang", "data_category"})
# The deprecated field-level transformationType: what it says about every input of the field.
_LEGACY_TYPES: Final = {
    "IDENTITY": ("DIRECT", "IDENTITY", False),
    "MASKED": ("DIRECT", "TRANSFORMATION", True),
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str = ""
    description: str = ""
    categories: tuple[str, ...] = ()
    position: int = 0


@dataclass(frozen=True)
class EdgeSpec:
    output_field: str  # "" for a dataset-level dependency
    input_namespace: str
    input_name: str
    input_field: str
    type: str = ""
    subtype: str = ""
    description: str = ""
    masking: bool | None = None


@dataclass
class DatasetColumns:
    """The columns one dataset of the event declares, and (on an output) its column edges."""

    side: str  # "input", "output" or "dataset" (a DatasetEvent's)
    namespace: str
    name: str
    version: str | None  # from its datasetVersion facet, if sent
    fields: list[FieldSpec] = field(default_factory=list)
    edges: list[EdgeSpec] = field(default_factory=list)


def column_facets(kind: EventKind, event: Mapping[str, Any]) -> list[DatasetColumns]:
    """The columns of a valid event's datasets (only those that send a schema, columnLineage or
    fideslang tags); raises ``InvalidLineageEvent`` naming the path of what cannot be stored."""
    items: list[tuple[str, str, Mapping[str, Any]]] = []
    if kind == "DatasetEvent":
        items.append(("dataset", "dataset", event["dataset"]))
    elif kind == "RunEvent":
        for side in ("inputs", "outputs"):
            items.extend((side[:-1], f"{side}[{n}]", item) for n, item in enumerate(event.get(side, [])))
    found: list[DatasetColumns] = []
    for side, path, item in items:
        facets = item.get("facets") or {}
        if not any(_live(facets.get(name)) for name in ("schema", "columnLineage", "tags")):
            continue
        columns = DatasetColumns(side, item["namespace"], item["name"], facet_version(item))
        categories = _tag_categories(facets.get("tags"), f"{path}.facets.tags")
        if _live(facets.get("schema")):
            columns.fields = _schema_fields(facets["schema"], f"{path}.facets.schema", categories)
        named = {one.name for one in columns.fields}
        columns.fields.extend(
            FieldSpec(name, categories=tuple(keys)) for name, keys in categories.items() if name not in named
        )
        if side != "input" and _live(facets.get("columnLineage")):
            columns.edges = _column_edges(facets["columnLineage"], f"{path}.facets.columnLineage")
        if columns.fields or columns.edges:
            found.append(columns)
    return found


def _live(facet: object) -> bool:
    return isinstance(facet, dict) and facet.get("_deleted") is not True


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidLineageEvent(path, "must be an object")
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidLineageEvent(path, "must be an array")
    return value


def _text(value: object, path: str, limit: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidLineageEvent(path, "must be a non-empty string" if required else "must be a string")
    if len(value) > limit:
        raise InvalidLineageEvent(path, f"longer than {limit} characters")
    return value


def _tag_categories(facet: object, path: str) -> dict[str, list[str]]:
    """Column → fideslang categories from the tags facet's field-level tags."""
    if not _live(facet):
        return {}
    tags = _list(_object(facet, path).get("tags", []), f"{path}.tags")
    found: dict[str, list[str]] = {}
    for n, tag in enumerate(tags):
        tag = _object(tag, f"{path}.tags[{n}]")
        if tag.get("key") not in CATEGORY_TAG_KEYS or not tag.get("field"):
            continue
        column = _text(tag["field"], f"{path}.tags[{n}].field", MAX_FIELD_NAME, required=True)
        value = tag.get("value")
        if not isinstance(value, str) or len(value) > 200 or not FIDESLANG_KEY.match(value):
            raise InvalidLineageEvent(
                f"{path}.tags[{n}].value", "must be a fideslang data category such as user.contact.email"
            )
        keys = found.setdefault(column, [])
        if value not in keys:
            keys.append(value)
    return found


def _schema_fields(facet: object, path: str, categories: Mapping[str, list[str]]) -> list[FieldSpec]:
    """The schema's fields, depth first, nested ones as dotted paths."""
    top = _object(facet, path).get("fields", [])
    stack: list[tuple[list[Any], str, str, int]] = [(_list(top, f"{path}.fields"), f"{path}.fields", "", 1)]
    found: list[FieldSpec] = []
    while stack:
        fields, where, prefix, depth = stack.pop()
        if depth > MAX_FIELD_DEPTH:
            raise InvalidLineageEvent(where, f"struct fields nested deeper than {MAX_FIELD_DEPTH} levels")
        children: list[tuple[list[Any], str, str, int]] = []
        for n, one in enumerate(fields):
            one = _object(one, f"{where}[{n}]")
            name = prefix + _text(one.get("name"), f"{where}[{n}].name", MAX_FIELD_NAME, required=True)
            if len(name) > MAX_FIELD_NAME:
                raise InvalidLineageEvent(
                    f"{where}[{n}].name", f"the path is longer than {MAX_FIELD_NAME} characters"
                )
            found.append(
                FieldSpec(
                    name=name,
                    type=_text(one.get("type"), f"{where}[{n}].type", MAX_FIELD_TYPE),
                    description=_text(one.get("description"), f"{where}[{n}].description", MAX_DESCRIPTION),
                    categories=tuple(categories.get(name, ())),
                    position=len(found) + 1,
                )
            )
            if len(found) > MAX_FIELDS:
                raise InvalidLineageEvent(
                    f"{path}.fields", f"more than {MAX_FIELDS} fields (nested ones included)"
                )
            if "fields" in one:
                nested = _list(one["fields"], f"{where}[{n}].fields")
                children.append((nested, f"{where}[{n}].fields", f"{name}.", depth + 1))
        stack.extend(reversed(children))
    return found


def _column_edges(facet: object, path: str) -> list[EdgeSpec]:
    body = _object(facet, path)
    outputs = _object(body.get("fields", {}), f"{path}.fields")
    edges: list[EdgeSpec] = []
    for output, spec in outputs.items():
        where = f"{path}.fields.{output}"
        _text(output, where, MAX_FIELD_NAME, required=True)
        spec = _object(spec, where)
        legacy = _legacy(spec, where)
        for n, item in enumerate(_list(spec.get("inputFields", []), f"{where}.inputFields")):
            edges.extend(_input_edges(output, item, f"{where}.inputFields[{n}]", legacy))
            if len(edges) > MAX_COLUMN_EDGES:
                raise InvalidLineageEvent(path, f"more than {MAX_COLUMN_EDGES} input field transformations")
    for n, item in enumerate(_list(body.get("dataset", []), f"{path}.dataset")):
        edges.extend(_input_edges("", item, f"{path}.dataset[{n}]", None))
        if len(edges) > MAX_COLUMN_EDGES:
            raise InvalidLineageEvent(path, f"more than {MAX_COLUMN_EDGES} input field transformations")
    return list(dict.fromkeys(edges))


def _legacy(spec: Mapping[str, Any], where: str) -> tuple[str, str, str, bool | None] | None:
    """The deprecated ``transformationType``/``transformationDescription`` of an output field."""
    kind = _text(spec.get("transformationType"), f"{where}.transformationType", MAX_TRANSFORMATION_SUBTYPE)
    text = _text(spec.get("transformationDescription"), f"{where}.transformationDescription", MAX_DESCRIPTION)
    if not kind and not text:
        return None
    type_, subtype, masking = _LEGACY_TYPES.get(kind.upper(), ("", kind, None))
    return type_, subtype, text, masking


def _input_edges(
    output: str, item: object, where: str, legacy: tuple[str, str, str, bool | None] | None
) -> Iterator[EdgeSpec]:
    item = _object(item, where)
    namespace = _text(item.get("namespace"), f"{where}.namespace", MAX_NAMESPACE, required=True)
    name = _text(item.get("name"), f"{where}.name", MAX_NAME, required=True)
    column = _text(item.get("field"), f"{where}.field", MAX_FIELD_NAME, required=True)
    transformations = _list(item.get("transformations", []), f"{where}.transformations")
    if not transformations:
        type_, subtype, text, masking = legacy or ("", "", "", None)
        yield EdgeSpec(output, namespace, name, column, type_, subtype, text, masking)
    for n, step in enumerate(transformations):
        at = f"{where}.transformations[{n}]"
        step = _object(step, at)
        masking = step.get("masking")
        if masking is not None and not isinstance(masking, bool):
            raise InvalidLineageEvent(f"{at}.masking", "must be true or false")
        yield EdgeSpec(
            output,
            namespace,
            name,
            column,
            _text(step.get("type"), f"{at}.type", MAX_TRANSFORMATION_TYPE, required=True).upper(),
            _text(step.get("subtype"), f"{at}.subtype", MAX_TRANSFORMATION_SUBTYPE).upper(),
            _text(step.get("description"), f"{at}.description", MAX_DESCRIPTION),
            masking,
        )
