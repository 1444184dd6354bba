"""Annex IV point 1: a general description of the AI system (Regulation (EU) 2024/1689)."""

from __future__ import annotations

from governance.documentation.evidence import as_dict, as_list, item, person, section, utc
from governance.documentation.facts import Facts
from governance.documentation.types import Evidence, Section


def model_item(facts: Facts) -> Evidence:
    version = facts.version
    model = version.model
    return item(
        f"Model {model.name}, version {version.version}",
        version.node_id,
        {
            "intended_purpose": model.intended_use,
            "description": model.description,
            "provider_owner": person(model.owner),
            "risk_level": model.risk_level,
            "version": version.version,
            "status": version.status,
            "registered_at": utc(version.created_at),
            "registered_by": person(version.created_by),
            "archived_at": utc(version.archived_at),
        },
        sha256=version.artifact_sha256,
    )


def classification_item(facts: Facts) -> list[Evidence]:
    if not facts.classifications:
        return []
    rows = [
        [
            utc(one.decided_at),
            one.previous_level or "(none)",
            one.risk_level,
            "reclassified by an officer" if one.reclassified else "at registration",
            person(one.decided_by),
            one.reason,
        ]
        for one in facts.classifications
    ]
    return [
        item(
            "Risk classification history (EU AI Act Art. 6)",
            f"model:{facts.version.model.name}",
            headers=("Decided (UTC)", "From", "To", "How", "Decided by", "Reason"),
            rows=rows,
        )
    ]


def versions_item(facts: Facts) -> Evidence:
    rows = [
        [one.node_id, utc(one.created_at), person(one.created_by), one.status, one.artifact_sha256]
        for one in facts.history
    ]
    return item(
        "Versions of the model (this one's relation to previous versions)",
        f"model:{facts.version.model.name}",
        headers=("Version", "Registered (UTC)", "By", "Status", "Artifact SHA-256"),
        rows=rows,
    )


def input_schema_items(facts: Facts) -> list[Evidence]:
    schema = as_list(facts.version.input_schema)
    if not schema:
        return []
    rows = [
        [as_dict(one).get("name", one), as_dict(one).get("type", "")] if isinstance(one, dict) else [one, ""]
        for one in schema
    ]
    return [item("Input specification", facts.version.node_id, headers=("Input", "Type"), rows=rows)]


def deployment_items(facts: Facts) -> list[Evidence]:
    if not facts.deployments:
        return []
    rows = [
        [
            one.node_id,
            one.environment,
            one.endpoint,
            utc(one.deployed_at),
            person(one.deployed_by),
            utc(one.until),
        ]
        for one in facts.deployments
    ]
    return [
        item(
            "Deployments (served through the service's prediction API)",
            facts.version.node_id,
            headers=("Deployment", "Environment", "Endpoint", "Deployed (UTC)", "By", "Until (UTC)"),
            rows=rows,
        )
    ]


def software_items(facts: Facts) -> list[Evidence]:
    version, run = facts.version, facts.version.run
    found = [
        item(
            "Framework and artifact format",
            version.node_id,
            {"framework": version.framework, "artifact_format": version.artifact_format},
        )
    ]
    if run is not None:
        found.append(
            item(
                "Software the training run used",
                run.node_id,
                {"code_version": run.code_version, **as_dict(run.environment)},
            )
        )
    return [one for one in found if one["facts"]]


def forms_items(facts: Facts) -> list[Evidence]:
    version = facts.version
    forms = item(
        "Artifact forms held by the service",
        version.node_id,
        {
            "artifact_format": version.artifact_format,
            "artifact_uri": version.artifact_uri,
            "artifact_size": version.artifact_size,
            "onnx_sha256": version.onnx_sha256,
        },
        sha256=version.artifact_sha256,
    )
    return ([forms] if forms["facts"] else []) + deployment_items(facts)


def general_sections(facts: Facts) -> list[Section]:
    purpose_missing = [] if facts.version.model.intended_use else ["intended purpose"]
    return [
        section(
            "1a",
            "Annex IV 1(a)",
            "Intended purpose, provider and version",
            [model_item(facts), *classification_item(facts), versions_item(facts)],
            purpose_missing,
        ),
        section(
            "1b",
            "Annex IV 1(b)",
            "Interaction with hardware or software, including other AI systems",
            [*input_schema_items(facts), *deployment_items(facts)],
            ["interaction with other AI systems"],
        ),
        section(
            "1c",
            "Annex IV 1(c)",
            "Versions of relevant software and requirements for version updates",
            software_items(facts),
            ["requirements related to version updates"],
        ),
        section(
            "1d",
            "Annex IV 1(d)",
            "Forms in which the system is placed on the market or put into service",
            forms_items(facts),
        ),
        section("1e", "Annex IV 1(e)", "Hardware on which the system is intended to run", []),
        section(
            "1f", "Annex IV 1(f)", "Photographs or illustrations of products the system is a component of", []
        ),
        section("1g", "Annex IV 1(g)", "User interface provided to the deployer", []),
        section("1h", "Annex IV 1(h)", "Instructions for use for the deployer", []),
    ]
