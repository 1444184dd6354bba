"""The report's "Input columns behind this model" section: which columns fed its model versions, the
personal and sensitive ones first and flagged (``registry.selectors.columns``).

The JSON report lists every column; the HTML and PDF tables show every flagged column and at most
``MAX_UNFLAGGED_SHOWN`` others, and say how many more the JSON holds. Cells here are plain text; each
renderer escapes them for its own markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from registry.reports.types import InputColumnEntry, LineageReport
from registry.selectors.columns import model_input_columns

SECTION_TITLE: Final = "Input columns behind this model"
HEADERS: Final = ("Column", "Type", "fideslang categories", "Flag", "How it reaches the model")
MAX_UNFLAGGED_SHOWN: Final = 100
NOTE: Final = (
    "Every column of the data the training run read, and through column-level lineage (OpenLineage "
    "columnLineage facets) the columns those were computed from. Categories come from the producer's "
    "tags and the dataset registry; personal: a fideslang user category; sensitive: a GDPR Art. 9 "
    "special category or Art. 10 criminal data; derived: computed from a personal column without "
    "masking."
)


def input_column_entries(node_ids: Iterable[str]) -> list[InputColumnEntry]:
    """The input columns behind the model versions among ``node_ids``, as report entries."""
    models = [one for one in node_ids if one.startswith("model:")]
    return [
        {
            "node": column.node,
            "namespace": column.namespace,
            "name": column.name,
            "version": column.version,
            "column": column.column,
            "type": column.type,
            "categories": column.categories,
            "personal": column.personal,
            "sensitive": column.sensitive,
            "hops": column.hops,
            "derived_from_personal": column.derived_from_personal,
            "feeds": [
                {
                    "node": feed.node,
                    "column": feed.column,
                    "transformation": feed.transformation,
                    "description": feed.description,
                    "masking": feed.masking,
                }
                for feed in column.feeds
            ],
        }
        for column in model_input_columns(models)
    ]


def has_section(report: LineageReport) -> bool:
    """Whether the report is about model versions (only then has it this section)."""
    return bool(report["models"]) or bool(report.get("input_columns"))


def shown_columns(report: LineageReport) -> tuple[list[InputColumnEntry], int]:
    """The columns the HTML and PDF tables list, and how many others only the JSON lists."""
    entries = report.get("input_columns") or []
    flagged = [entry for entry in entries if _flagged(entry)]
    others = [entry for entry in entries if not _flagged(entry)]
    return [*flagged, *others[:MAX_UNFLAGGED_SHOWN]], max(0, len(others) - MAX_UNFLAGGED_SHOWN)


def _flagged(entry: InputColumnEntry) -> bool:
    return entry["personal"] or entry["sensitive"] or bool(entry.get("derived_from_personal"))


def flag_text(entry: InputColumnEntry) -> str:
    if entry["sensitive"]:
        return "Sensitive (special category)"
    if entry["personal"]:
        return "Personal"
    return "Derived from personal data" if entry.get("derived_from_personal") else ""


def column_label(entry: InputColumnEntry) -> str:
    """``namespace:name#version · column``."""
    return f"{entry['node'].removeprefix('dataset:')} · {entry['column']}"


def route_text(entry: InputColumnEntry) -> str:
    """How the column reaches the model: read by the training run, or what it was used to compute."""
    parts = []
    for feed in entry["feeds"]:
        target = feed["node"].removeprefix("dataset:")
        target = f"{target} · {feed['column']}" if feed["column"] else f"{target} (whole dataset)"
        how = [feed["transformation"] or "transformation not given"]
        if feed["masking"]:
            how.append("masked")
        if feed["description"]:
            how.append(feed["description"])
        parts.append(f"→ {target} ({'; '.join(how)})")
    lead = "read by the training run" if entry["hops"] == 0 else f"{entry['hops']} step(s) upstream"
    text = f"{lead}: {'; '.join(parts)}" if parts else lead
    derived = entry.get("derived_from_personal") or []
    return text + (f"; computed from {', '.join(derived)}" if derived else "")


def cells(entry: InputColumnEntry) -> list[str]:
    """One table row, plain text, in ``HEADERS`` order."""
    return [
        column_label(entry),
        entry["type"],
        ", ".join(entry["categories"]) or "not declared",
        flag_text(entry),
        route_text(entry),
    ]


def rest_note(hidden: int) -> str:
    if not hidden:
        return ""
    return f"{hidden} more column(s) without a personal category are listed in the JSON report."


def summary(report: LineageReport) -> str:
    """``12 column(s): 2 personal, 1 sensitive, 1 derived from personal data``."""
    entries = report.get("input_columns") or []
    personal = sum(1 for entry in entries if entry["personal"])
    sensitive = sum(1 for entry in entries if entry["sensitive"])
    derived = sum(1 for entry in entries if not entry["personal"] and entry.get("derived_from_personal"))
    return (
        f"{len(entries)} column(s): {personal} personal, {sensitive} sensitive, "
        f"{derived} derived from personal data"
    )
