"""The technical documentation document (EU AI Act Art. 11, Annex IV): the one JSON shape the selectors
fill in and every renderer reads.

Each section answers one point of Annex IV of Regulation (EU) 2024/1689 and carries the evidence the
service holds for it, each item naming where it comes from (a lineage node id, a release request, an
audit entry) and, where there is one, the SHA-256 that pins it. A section with nothing recorded says
``NO_EVIDENCE``; a part of a point the service has no record of is listed in ``not_recorded``. Nothing
is written that the service does not know.
"""

from __future__ import annotations

from typing import Any, Final, NotRequired, TypedDict

from registry.reports.types import AuditEntryRow, ReportEdge, ReportNode

FORMAT: Final = "technical-documentation/1"
NO_EVIDENCE: Final = "no evidence recorded"
RECORDED: Final = "evidence recorded"
REGULATION: Final = "Regulation (EU) 2024/1689 (AI Act), Article 11 and Annex IV"


class EvidenceTable(TypedDict):
    headers: list[str]
    rows: list[list[str]]


class Evidence(TypedDict):
    """One thing the service recorded: ``source`` names the row it comes from (a lineage node id such as
    ``model:churn#1`` or ``dataset:crm:customers#v1``, ``release:7``, ``drift_check:3``)."""

    label: str
    source: str
    sha256: NotRequired[str]
    facts: dict[str, Any]
    table: NotRequired[EvidenceTable]


class Section(TypedDict):
    """One Annex IV point: ``point`` cites it ("Annex IV 2(d)"); ``status`` is ``RECORDED`` or
    ``NO_EVIDENCE``; ``not_recorded`` names the parts of the point the service holds nothing for."""

    id: str
    point: str
    heading: str
    status: str
    evidence: list[Evidence]
    not_recorded: list[str]


class CardEntry(TypedDict):
    """One line of the model card: what it says (or ``NO_EVIDENCE``) and the sources it rests on."""

    heading: str
    text: str
    sources: list[str]


class AuditState(TypedDict):
    """The audit log state the document was produced against (as the lineage report's)."""

    origin: str
    tree_size: int
    checkpoint: str
    entries: list[AuditEntryRow]


class Lineage(TypedDict):
    nodes: list[ReportNode]
    edges: list[ReportEdge]


class TechnicalDocument(TypedDict):
    format: str
    title: str
    subject: str
    generated_at: str
    regulation: str
    model_card: list[CardEntry]
    sections: list[Section]
    lineage: Lineage
    audit: AuditState
