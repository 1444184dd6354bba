"""Annex IV points 3 to 9: monitoring, functioning and control; the performance metrics; risk
management (Art. 9); changes through the lifecycle; standards; the declaration of conformity (Art. 47);
post-market monitoring (Art. 72)."""

from __future__ import annotations

from governance.documentation.data_evidence import bias_items
from governance.documentation.evidence import item, section, utc
from governance.documentation.facts import Facts
from governance.documentation.release_evidence import (
    check_items,
    metrics_item,
    oversight_items,
    release_item,
    signature_items,
    threshold_items,
)
from governance.documentation.sections_general import (
    classification_item,
    deployment_items,
    input_schema_items,
    versions_item,
)
from governance.documentation.types import Evidence, Section


def _monitoring_items(facts: Facts) -> list[Evidence]:
    found = [
        item(
            f"Drift monitoring of {one.node_id}",
            one.node_id,
            {
                "environment": one.environment,
                "serving": one.until is None,
                "reference_profile_from_training_data": facts.reference_profile,
                "thresholds": facts.thresholds.get(one.pk) or None,
            },
        )
        for one in facts.deployments
    ]
    checks = facts.drift_checks
    if checks:
        rows = [
            [
                f"drift_check:{one.pk}",
                one.deployment.node_id,
                utc(one.window_start),
                utc(one.window_end),
                one.samples,
                one.conclusive,
                one.alarm,
                one.checked_by,
            ]
            for one in checks
        ]
        found.append(
            item(
                "Drift checks and alarms so far",
                facts.version.node_id,
                {"checks": len(checks), "alarms": sum(1 for one in checks if one.alarm)},
                headers=(
                    "Check",
                    "Deployment",
                    "Window start",
                    "Window end",
                    "Samples",
                    "Conclusive",
                    "Alarm",
                    "Checked by",
                ),
                rows=rows,
            )
        )
    return found


def _changes_items(facts: Facts) -> list[Evidence]:
    audit = facts.lineage["audit"]["entries"]
    found = [
        versions_item(facts),
        *[release_item(one) for one in facts.releases],
        *check_items(facts),
        *signature_items(facts),
    ]
    found.extend(deployment_items(facts))
    if audit:
        found.append(
            item(
                "Audit log entries about this version and its lineage",
                facts.version.node_id,
                headers=("Leaf index", "Action", "Time (UTC)", "Target"),
                rows=[[row["index"], row["action"], row["timestamp"], row["target"]] for row in audit],
            )
        )
    return found


def _risk_items(facts: Facts) -> list[Evidence]:
    model = facts.version.model
    found = [
        item(
            "Risk level (EU AI Act Art. 6 and Annex III)",
            f"model:{model.name}",
            {"risk_level": model.risk_level},
        ),
        *classification_item(facts),
        *check_items(facts, ("risk_not_prohibited", "dpia_reference"), label="Risk checks"),
    ]
    dpias = [[f"release:{one.pk}", one.dpia_reference] for one in facts.releases if one.dpia_reference]
    if dpias:
        found.append(
            item(
                "Data protection impact assessments referenced (GDPR Art. 35)",
                facts.version.node_id,
                headers=("Request", "DPIA reference"),
                rows=dpias,
            )
        )
    return found


def lifecycle_sections(facts: Facts) -> list[Section]:
    bias = bias_items(facts.version)
    return [
        section(
            "3",
            "Annex IV 3",
            "Monitoring, functioning and control of the system",
            [*metrics_item(facts), *bias, *oversight_items(facts), *input_schema_items(facts)],
            [
                *([] if bias else ["degrees of accuracy for specific persons or groups"]),
                "foreseeable unintended outcomes and sources of risks",
            ],
        ),
        section(
            "4",
            "Annex IV 4",
            "Appropriateness of the performance metrics",
            [*metrics_item(facts), *threshold_items(facts)],
            ["a statement of why these metrics suit the intended purpose"],
        ),
        section(
            "5",
            "Annex IV 5",
            "Risk management system (Art. 9)",
            _risk_items(facts),
            ["the risk management system's own documentation (Art. 9)"],
        ),
        section("6", "Annex IV 6", "Relevant changes through the lifecycle", _changes_items(facts)),
        section(
            "7",
            "Annex IV 7",
            "Harmonised standards applied, or other solutions and specifications",
            [],
            ["harmonised standards applied", "other standards and technical specifications applied"],
        ),
        section(
            "8",
            "Annex IV 8",
            "EU declaration of conformity (Art. 47)",
            [],
            ["a copy of the EU declaration of conformity"],
        ),
        section(
            "9",
            "Annex IV 9",
            "Post-market monitoring (Art. 72)",
            _monitoring_items(facts),
            ["the post-market monitoring plan document (Art. 72(3))"]
            + ([] if facts.deployments else ["a deployment, and so drift checks configured for it"])
            + ([] if facts.drift_checks else ["drift results so far"]),
        ),
    ]
