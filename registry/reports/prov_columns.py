"""The input columns behind a report's model versions, as PROV-JSON records (issue 19's columns).

Each column of a dataset version the report names is an entity typed ``gov:Column`` carrying its
fideslang categories and whether it is personal or sensitive; the dataset version is its collection
(``hadMember``, PROV-DM §5.6.3). A column computed from another (OpenLineage ``columnLineage``) is
``wasDerivedFrom`` it, the transformation (``DIRECT/IDENTITY``...) as ``gov:transformation``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from registry.reports.prov_names import qname_value, qualified_name
from registry.reports.types import LineageReport

ProvAttributes = dict[str, str | int | float | bool | dict[str, str]]


def column_ident(node: str, column: str) -> str:
    """The column's qualified name: its dataset version's node id and the column, ``#`` between."""
    return qualified_name(f"{node}#column:{column}")


def column_records(
    report: LineageReport, *, declared: Mapping[str, str]
) -> Iterator[tuple[str, str, ProvAttributes]]:
    """(section, id, attributes) for each column entity and its relations; relation ids start ``_:``
    (the writer numbers them). ``declared`` maps the ids already written to their kind, so a column is
    a member only of a dataset version the document declares."""
    relation = 0
    for entry in report.get("input_columns", []):
        ident = column_ident(entry["node"], entry["column"])
        yield (
            "entity",
            ident,
            {
                "prov:type": qname_value("gov:Column"),
                "prov:label": f"{entry['name']}.{entry['column']}",
                "gov:column": entry["column"],
                "gov:dataType": entry["type"],
                "gov:categories": json.dumps(entry["categories"]),
                "gov:personal": entry["personal"],
                "gov:sensitive": entry["sensitive"],
                "gov:hops": entry["hops"],
            },
        )
        collection = qualified_name(entry["node"])
        if collection in declared:
            relation += 1
            yield "hadMember", f"_:member{relation}", {"prov:collection": collection, "prov:entity": ident}
        for feed in entry["feeds"]:
            generated = (
                column_ident(feed["node"], feed["column"]) if feed["column"] else qualified_name(feed["node"])
            )
            relation += 1
            attributes: ProvAttributes = {
                "prov:generatedEntity": generated,
                "prov:usedEntity": ident,
                "gov:transformation": feed["transformation"],
            }
            if feed["masking"] is not None:
                attributes["gov:masking"] = feed["masking"]
            yield "wasDerivedFrom", f"_:derived{relation}", attributes
