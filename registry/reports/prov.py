"""Serialise a lineage report as W3C PROV-JSON.

Follows the PROV-JSON W3C Member Submission (24 April 2013,
https://www.w3.org/submissions/prov-json/) for the PROV data model (PROV-DM,
https://www.w3.org/TR/prov-dm/):

* ``entity``: dataset and model versions (and plain datasets/models), typed ``gov:DatasetVersion``
  etc., carrying their SHA-256 digest as ``gov:sha256``;
* ``activity``: runs (``prov:startTime``/``prov:endTime``), deployments (from deployment to
  retirement) and approvals (the signing, an activity whose end is the signature time);
* ``agent``: people by their printed name, and pipelines (jobs) as ``prov:SoftwareAgent``;
* relations: ``used``, ``wasGeneratedBy``, ``wasDerivedFrom``, ``wasAssociatedWith``,
  ``wasAttributedTo`` and ``specializationOf`` (for ``versionOf``), each keyed by a blank
  identifier (``_:``-prefixed, PROV-JSON §2.2) since the report gives relations no identity.

Identifiers are qualified names in the ``gov:`` namespace. Their local parts keep only
characters that PROV-N's ``PN_LOCAL`` production (PROV-N §4.6) accepts unescaped in every
position, and percent-encode every other UTF-8 byte, so any report id becomes a valid
qualified name and distinct ids stay distinct.

An edge whose endpoints do not fit the PROV relation's domain (say ``used`` between two
entities) is kept as the generic ``wasInfluencedBy`` (PROV-DM §5.2.3) rather than dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TypeAlias, TypedDict

from registry.reports.prov_columns import column_records
from registry.reports.prov_names import PREFIX, qname_value, qualified_name
from registry.reports.types import JSONValue, LineageReport, ReportNode

DEFAULT_NAMESPACE = "urn:model-governance:prov:"
__all__ = ["DEFAULT_NAMESPACE", "PREFIX", "ProvDocument", "qname_value", "qualified_name", "to_prov_json"]

# PROV-JSON values: strings, numbers, booleans, or typed literals {"$": ..., "type": ...}.
ProvValue: TypeAlias = str | int | float | bool | dict[str, str]
ProvRecord: TypeAlias = dict[str, ProvValue]


class ProvDocument(TypedDict, total=False):
    """A PROV-JSON document (PROV-JSON §2); sections with nothing in them are left out."""

    prefix: dict[str, str]
    entity: dict[str, ProvRecord]
    activity: dict[str, ProvRecord]
    agent: dict[str, ProvRecord]
    used: dict[str, ProvRecord]
    wasGeneratedBy: dict[str, ProvRecord]
    wasAssociatedWith: dict[str, ProvRecord]
    wasAttributedTo: dict[str, ProvRecord]
    wasDerivedFrom: dict[str, ProvRecord]
    specializationOf: dict[str, ProvRecord]
    wasInfluencedBy: dict[str, ProvRecord]
    hadMember: dict[str, ProvRecord]


_ENTITY_TYPES = {
    "dataset": "gov:Dataset",
    "dataset_version": "gov:DatasetVersion",
    "model": "gov:Model",
    "model_version": "gov:ModelVersion",
}
_ACTIVITY_TYPES = {"run": "gov:Run", "deployment": "gov:Deployment"}
_SECTIONS = (
    "entity",
    "activity",
    "agent",
    "used",
    "wasGeneratedBy",
    "wasAssociatedWith",
    "wasAttributedTo",
    "wasDerivedFrom",
    "specializationOf",
    "wasInfluencedBy",
    "hadMember",
)


def to_prov_json(report: LineageReport, *, namespace: str = DEFAULT_NAMESPACE) -> ProvDocument:
    """Convert a report into a PROV-JSON document (a JSON-serialisable ``dict``).

    ``namespace`` is the IRI that the ``gov:`` prefix stands for.
    """
    builder = _Builder(report)
    builder.add_nodes()
    builder.add_runs()
    builder.add_datasets()
    builder.add_models()
    builder.add_deployments()
    builder.add_edges()
    builder.add_approvals()
    builder.add_columns()

    document: ProvDocument = {"prefix": {PREFIX: namespace}}
    for section in _SECTIONS:  # in PROV-JSON's order; sections with nothing in them are left out
        if builder.sections.get(section):
            document[section] = builder.sections[section]  # type: ignore[literal-required]
    return document


class _Builder:
    """Accumulates PROV-JSON sections; relation ids are numbered in the order they are made."""

    def __init__(self, report: LineageReport) -> None:
        self.report = report
        self.sections: dict[str, dict[str, ProvRecord]] = {}
        self.nodes: dict[str, ReportNode] = {node["id"]: node for node in report["nodes"]}
        self.kind: dict[str, str] = {}  # qualified id -> "entity" | "activity" | "agent"
        self.counter = 0

    # --- declarations -------------------------------------------------------------------

    def declare(self, kind: str, ident: str, attributes: Mapping[str, ProvValue | None]) -> str:
        record = self.sections.setdefault(kind, {}).setdefault(ident, {})
        record.update({key: value for key, value in attributes.items() if value is not None})
        self.kind.setdefault(ident, kind)
        return ident

    def node_id(self, node_id: str) -> str:
        return qualified_name(node_id)

    def person(self, name: str) -> str:
        ident = qualified_name(f"agent_{name}")
        return self.declare("agent", ident, {"prov:label": name})

    def relation(self, kind: str, attributes: ProvRecord) -> None:
        self.counter += 1
        self.sections.setdefault(kind, {})[f"_:{kind}{self.counter}"] = attributes

    def add_nodes(self) -> None:
        for node in self.report["nodes"]:
            ident = self.node_id(node["id"])
            attributes: ProvRecord = {"prov:label": node["label"]}
            for key, value in node["attributes"].items():
                if value is not None:
                    attributes[qualified_name(f"attr_{key}")] = value
            if node["type"] in _ENTITY_TYPES:
                attributes["prov:type"] = qname_value(_ENTITY_TYPES[node["type"]])
                self.declare("entity", ident, attributes)
            elif node["type"] in _ACTIVITY_TYPES:
                attributes["prov:type"] = qname_value(_ACTIVITY_TYPES[node["type"]])
                self.declare("activity", ident, attributes)
            elif node["type"] == "job":
                attributes["prov:type"] = qname_value("prov:SoftwareAgent")
                self.declare("agent", ident, attributes)
            else:
                # An unknown node type is still something; an entity is the least committal.
                self.declare("entity", ident, attributes)

    def job_agent(self, job: str) -> str:
        """The pipeline agent of a run: the report's job node of that name, else a synthetic one."""
        for node in self.report["nodes"]:
            if node["type"] == "job" and job in (node["label"], node["attributes"].get("name")):
                return self.node_id(node["id"])
        ident = qualified_name(f"job_{job}")
        return self.declare(
            "agent", ident, {"prov:label": job, "prov:type": qname_value("prov:SoftwareAgent")}
        )

    def add_runs(self) -> None:
        for run in self.report["runs"]:
            ident = self.declare(
                "activity",
                self.node_id(run["node"]),
                {
                    "prov:type": qname_value("gov:Run"),
                    "prov:startTime": run["started_at"],
                    "prov:endTime": run["ended_at"],
                    "gov:runId": run["run_id"],
                    "gov:job": run["job"],
                    "gov:codeVersion": run["code_version"],
                    "gov:parameters": _json(run["parameters"]),
                    "gov:metrics": _json(run["metrics"]),
                },
            )
            self.relation(
                "wasAssociatedWith",
                {
                    "prov:activity": ident,
                    "prov:agent": self.job_agent(run["job"]),
                    "prov:role": qname_value("gov:pipeline"),
                },
            )
            if run["started_by"]:
                self.relation(
                    "wasAssociatedWith",
                    {
                        "prov:activity": ident,
                        "prov:agent": self.person(run["started_by"]),
                        "prov:role": qname_value("gov:startedBy"),
                    },
                )

    def add_datasets(self) -> None:
        for dataset in self.report["datasets"]:
            consent = dataset["consent"]
            self.declare(
                "entity",
                self.node_id(dataset["node"]),
                {
                    "prov:type": qname_value("gov:DatasetVersion"),
                    "gov:name": dataset["name"],
                    "gov:namespace": dataset["namespace"],
                    "gov:version": dataset["version"],
                    "gov:sha256": dataset["sha256"],
                    "gov:rows": dataset["rows"],
                    "gov:holdsPersonalData": dataset["holds_personal_data"],
                    "gov:consent": consent["summary"] if consent else None,
                    "gov:consentCounts": _json(consent["counts"]) if consent else None,
                },
            )

    def add_models(self) -> None:
        for model in self.report["models"]:
            ident = self.declare(
                "entity",
                self.node_id(model["node"]),
                {
                    "prov:type": qname_value("gov:ModelVersion"),
                    "gov:name": model["name"],
                    "gov:version": model["version"],
                    "gov:sha256": model["sha256"],
                    "gov:framework": model["framework"],
                    "gov:registeredAt": {"$": model["registered_at"], "type": "xsd:dateTime"},
                },
            )
            if model["registered_by"]:
                self.relation(
                    "wasAttributedTo",
                    {"prov:entity": ident, "prov:agent": self.person(model["registered_by"])},
                )

    def add_deployments(self) -> None:
        for deployment in self.report["deployments"]:
            ident = self.declare(
                "activity",
                self.node_id(deployment["node"]),
                {
                    "prov:type": qname_value("gov:Deployment"),
                    "prov:startTime": deployment["deployed_at"],
                    "prov:endTime": deployment["until"],
                    "gov:environment": deployment["environment"],
                    "gov:model": deployment["model"],
                    "gov:version": deployment["version"],
                    "gov:endpoint": deployment["endpoint"],
                },
            )
            if deployment["deployed_by"]:
                self.relation(
                    "wasAssociatedWith",
                    {
                        "prov:activity": ident,
                        "prov:agent": self.person(deployment["deployed_by"]),
                        "prov:role": qname_value("gov:deployedBy"),
                    },
                )

    def add_approvals(self) -> None:
        by_digest: dict[str, list[str]] = {}
        for dataset in self.report["datasets"]:
            by_digest.setdefault(dataset["sha256"].lower(), []).append(self.node_id(dataset["node"]))
        for model in self.report["models"]:
            by_digest.setdefault(model["sha256"].lower(), []).append(self.node_id(model["node"]))
        for number, approval in enumerate(self.report["approvals"], start=1):
            ident = self.declare(
                "activity",
                qualified_name(f"approval_{approval['request']}_{number}"),
                {
                    "prov:type": qname_value("gov:Signature"),
                    "prov:label": f"{approval['meaning']} by {approval['signer_name']}",
                    "prov:endTime": approval["signed_at"],
                    "gov:request": approval["request"],
                    "gov:meaning": approval["meaning"],
                    "gov:comment": approval["comment"],
                    "gov:covers": " ".join(approval["covers"]),
                },
            )
            self.relation(
                "wasAssociatedWith",
                {
                    "prov:activity": ident,
                    "prov:agent": self.person(approval["signer_name"]),
                    "prov:role": qname_value("gov:signer"),
                },
            )
            for digest in approval["covers"]:
                for entity in by_digest.get(digest.lower(), []):
                    self.relation(
                        "used",
                        {
                            "prov:activity": ident,
                            "prov:entity": entity,
                            "prov:role": qname_value("gov:signed"),
                        },
                    )

    def add_columns(self) -> None:
        for kind, ident, attributes in column_records(self.report, declared=self.kind):
            if ident.startswith("_:"):
                self.relation(kind, attributes)
            else:
                self.declare(kind, ident, attributes)

    # --- edges --------------------------------------------------------------------------

    def add_edges(self) -> None:
        for edge in self.report["edges"]:
            source, target = self.node_id(edge["source"]), self.node_id(edge["target"])
            if source not in self.kind or target not in self.kind:
                continue  # an edge to a node the report does not declare cannot be serialised
            kinds = (self.kind[source], self.kind[target])
            relation = edge["relation"]
            if relation == "used" and kinds == ("activity", "entity"):
                self.relation("used", {"prov:activity": source, "prov:entity": target})
            elif relation == "wasGeneratedBy" and kinds == ("entity", "activity"):
                self.relation("wasGeneratedBy", {"prov:entity": source, "prov:activity": target})
            elif relation == "wasDerivedFrom" and kinds == ("entity", "entity"):
                self.relation("wasDerivedFrom", {"prov:generatedEntity": source, "prov:usedEntity": target})
            elif relation == "deployedAs" and kinds == ("entity", "activity"):
                self.relation(
                    "used",
                    {"prov:activity": target, "prov:entity": source, "prov:role": qname_value("gov:served")},
                )
            elif relation == "versionOf" and kinds == ("entity", "entity"):
                self.relation(
                    "specializationOf", {"prov:specificEntity": source, "prov:generalEntity": target}
                )
            else:
                self.relation(
                    "wasInfluencedBy",
                    {"prov:influencee": source, "prov:influencer": target, "gov:relation": relation},
                )


def _json(value: Mapping[str, JSONValue]) -> str:
    # PROV-JSON attribute values are scalars, so structured run parameters travel as JSON text.
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
