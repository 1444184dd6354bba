"""Reading the technical documentation of a model version (EU AI Act Art. 11, Annex IV).

``technical_documentation_build`` assembles the document from what the service recorded; exporting it
(an audited action) is ``governance.documentation.services``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from audit.actions import AuditAction
from governance.documentation.card import model_card
from governance.documentation.facts import facts_load
from governance.documentation.sections_development import development_sections
from governance.documentation.sections_general import general_sections
from governance.documentation.sections_lifecycle import lifecycle_sections
from governance.documentation.types import FORMAT, REGULATION, TechnicalDocument


def technical_documentation_build(*, subject: str) -> TechnicalDocument:
    """The document of ``subject`` (``model:<name>#<version>``): one section per Annex IV point, each
    with its evidence or "no evidence recorded". Raises ValidationFailed for another kind of node id
    and NotFound for an unknown version. ``audit.tree_size`` and ``checkpoint`` are filled on export."""
    facts = facts_load(subject=subject)
    version = facts.version
    return {
        "format": FORMAT,
        "title": f"Technical documentation of {version.model.name} version {version.version}",
        "subject": version.node_id,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "regulation": REGULATION,
        "model_card": model_card(facts),
        "sections": [*general_sections(facts), *development_sections(facts), *lifecycle_sections(facts)],
        "lineage": {"nodes": facts.lineage["nodes"], "edges": facts.lineage["edges"]},
        "audit": {
            "origin": facts.lineage["audit"]["origin"],
            "tree_size": facts.lineage["audit"]["tree_size"],
            "checkpoint": facts.lineage["audit"]["checkpoint"],
            # Earlier exports of this document are not evidence about the model version (as the lineage
            # report leaves out its own exports); listing them made each export longer than the last.
            "entries": [
                row
                for row in facts.lineage["audit"]["entries"]
                if row["action"] != AuditAction.TECHNICAL_DOCUMENTATION_EXPORT.value
            ],
        },
    }
