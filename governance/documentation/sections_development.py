"""Annex IV point 2: a detailed description of the elements of the AI system and of the process for its
development (Regulation (EU) 2024/1689)."""

from __future__ import annotations

from governance.documentation.data_evidence import bias_items, dataset_item, quality_item
from governance.documentation.evidence import as_dict, as_list, item, person, section, utc
from governance.documentation.facts import Facts
from governance.documentation.release_evidence import (
    check_items,
    metrics_item,
    oversight_items,
    release_item,
    signature_items,
    threshold_items,
)
from governance.documentation.types import Evidence, Section


def run_items(facts: Facts) -> list[Evidence]:
    run = facts.version.run
    if run is None:
        return []
    job = as_dict(as_dict(run.facets).get("job"))
    return [
        item(
            "Training run",
            run.node_id,
            {
                "run_id": str(run.run_id),
                "job": f"{run.job.namespace}/{run.job.name}" if run.job is not None else "",
                "state": run.state,
                "started_by": person(run.started_by),
                "started_at": utc(run.started_at),
                "ended_at": utc(run.ended_at),
                "code_version": run.code_version,
                "rows_train": job.get("rows_train"),
                "rows_test": job.get("rows_test"),
            },
        )
    ]


def _train_releases(facts: Facts) -> list[Evidence]:
    return [release_item(one) for one in facts.releases if one.kind == "train"]


def design_items(facts: Facts) -> list[Evidence]:
    version = facts.version
    parameters = as_dict(version.parameters) or (as_dict(version.run.parameters) if version.run else {})
    targets = sorted({one.dataset.target_column for one in facts.datasets if one.dataset.target_column})
    found = item(
        "Model parameters and target",
        version.node_id,
        {"framework": version.framework, "target_columns": targets or None},
        headers=("Parameter", "Value") if parameters else (),
        rows=[[key, value] for key, value in sorted(parameters.items())],
    )
    return [found] if found["facts"] or parameters else []


def architecture_items(facts: Facts) -> list[Evidence]:
    lineage = facts.lineage
    found = [
        item(
            "Data lineage graph (W3C PROV directions; drawn in the HTML and PDF renderings)",
            facts.version.node_id,
            {"nodes": len(lineage["nodes"]), "edges": len(lineage["edges"])},
            headers=("From", "Relation", "To"),
            rows=[[edge["source"], edge["relation"], edge["target"]] for edge in lineage["edges"]],
        )
    ]
    run = facts.version.run
    if run is not None and as_dict(run.environment):
        found.append(
            item("Computational environment of the training run", run.node_id, as_dict(run.environment))
        )
    return found


def consent_items(facts: Facts) -> list[Evidence]:
    run = facts.version.run
    manifests = as_list(as_dict(run.facets).get("consent")) if run is not None else []
    found = []
    for manifest in map(as_dict, manifests):
        digest = manifest.get("dataset_sha256")
        found.append(
            item(
                "Consent manifest applied by the training run to "
                + str(manifest.get("dataset_version", "its input")),
                run.node_id if run is not None else facts.version.node_id,
                dict(sorted(manifest.items())),
                sha256=digest if isinstance(digest, str) and len(digest) == 64 else "",
            )
        )
    return found + check_items(
        facts, ("lawful_basis", "no_erasure_impact", "dpia_reference", "data_quality"), label="Data checks"
    )


def data_items(facts: Facts) -> tuple[list[Evidence], list[str]]:
    found: list[Evidence] = []
    missing: list[str] = []
    for version in facts.datasets:
        found.append(dataset_item(version))
        profile = facts.profiles.get(version.pk)
        if profile is None:
            missing.append(f"data quality profile of {version.node_id}")
        else:
            found.append(quality_item(version, profile))
    found.extend(consent_items(facts))
    return found, [*missing, "labelling procedures", "data cleaning methodologies"]


def predetermined_items(facts: Facts) -> list[Evidence]:
    rows = [
        [f"drift_check:{one.pk}", utc(one.created_at), f"release:{one.retraining_release_id}"]
        for one in facts.drift_checks
        if one.retraining_release_id is not None
    ]
    if not rows:
        return []
    return [
        item(
            "Retraining requests opened by drift alarms",
            facts.version.node_id,
            headers=("Drift check", "Raised (UTC)", "Retraining request"),
            rows=rows,
        )
    ]


def security_items(facts: Facts) -> list[Evidence]:
    version = facts.version
    found = item(
        "Artifact integrity",
        version.node_id,
        {
            "artifact_verified": version.artifact_verified,
            "signed_by_service_key": version.signing_key_id,
            "openssf_signature_bundle": "held" if version.signature_storage_name else "",
            "signed_provenance": "held" if version.provenance_storage_name else "",
            "deployable": "yes" if not version.undeployable_reason else version.undeployable_reason,
        },
        sha256=version.artifact_sha256,
    )
    return [found]


def development_sections(facts: Facts) -> list[Section]:
    data, data_missing = data_items(facts)
    bias = bias_items(facts.version)
    return [
        section(
            "2a",
            "Annex IV 2(a)",
            "Methods and steps of development",
            [*run_items(facts), *_train_releases(facts)],
            ["recourse to pre-trained systems or third-party tools"],
        ),
        section(
            "2b",
            "Annex IV 2(b)",
            "Design specifications",
            design_items(facts),
            ["general logic, rationale and key design choices", "trade-offs made"],
        ),
        section(
            "2c",
            "Annex IV 2(c)",
            "System architecture and computational resources",
            architecture_items(facts),
        ),
        section(
            "2d",
            "Annex IV 2(d)",
            "Data requirements: datasheets, provenance, quality and selection",
            data,
            data_missing,
        ),
        section(
            "2e",
            "Annex IV 2(e)",
            "Assessment of the human oversight measures (Art. 14)",
            [*oversight_items(facts), *check_items(facts, ("human_overseer",), label="Oversight check")],
            ["technical measures facilitating the interpretation of outputs (Art. 13(3)(d))"],
        ),
        section(
            "2f",
            "Annex IV 2(f)",
            "Pre-determined changes to the system and its performance",
            predetermined_items(facts),
        ),
        section(
            "2g",
            "Annex IV 2(g)",
            "Validation and testing procedures, metrics and test logs",
            [
                *metrics_item(facts),
                *threshold_items(facts),
                *check_items(facts, ("metric_thresholds", "bias_within_threshold"), label="Metric checks"),
                *bias,
                *signature_items(facts),
            ],
            [] if bias else ["bias examination (potentially discriminatory impacts)"],
        ),
        section("2h", "Annex IV 2(h)", "Cybersecurity measures", security_items(facts)),
    ]
