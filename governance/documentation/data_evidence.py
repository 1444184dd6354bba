"""Evidence items for the data and the model's fairness: each input dataset version with its SHA-256
and data quality profile (EU AI Act Art. 10(2)-(3)), and the bias examination on held-out rows
(Art. 10(2)(f), Annex IV 2(g) and 3). Stored JSON is shown as found: a missing key is left out."""

from __future__ import annotations

from typing import Any

from governance.documentation.evidence import as_dict, as_list, item, text, utc
from governance.documentation.types import Evidence
from registry.models import DatasetVersion, ModelVersion
from registry.models_quality import QualityProfile

QUALITY_HEADERS = (
    "Column",
    "Type",
    "Missing",
    "Missing fraction",
    "Distinct",
    "Min",
    "Median",
    "Max",
    "Top values",
    "Outside schema",
)
BIAS_HEADERS = (
    "Attribute",
    "Categories",
    "Proxy",
    "Group",
    "Rows",
    "Selection rate",
    "True positive rate",
    "False positive rate",
)


def dataset_item(version: DatasetVersion) -> Evidence:
    dataset = version.dataset
    return item(
        f"Dataset version {dataset.namespace}/{dataset.name} {version.version}",
        version.node_id,
        {
            "description": dataset.description,
            "uri": version.uri,
            "file_format": version.file_format,
            "rows": version.row_count,
            "subjects": version.subject_count,
            "holds_personal_data": dataset.holds_personal_data,
            "special_categories": dataset.special_categories,
            "data_categories": dataset.data_categories or None,
            "jurisdictions": dataset.jurisdictions or None,
            "purposes": dataset.purposes or None,
            "target_column": dataset.target_column,
            "protected_attributes": dataset.protected_attributes or None,
            "stored_at": utc(version.created_at),
        },
        sha256=version.sha256,
    )


def quality_item(version: DatasetVersion, profile: QualityProfile) -> Evidence:
    """The stored profile (``quality-profile/1``) of one dataset version, pinned by its own SHA-256."""
    data = as_dict(profile.profile)
    target = as_dict(data.get("target"))
    classes = ", ".join(
        f"{one.get('value')}: {text(one.get('count'))} ({text(one.get('fraction'))})"
        for one in map(as_dict, as_list(target.get("classes")))
    )
    rows = []
    for column in map(as_dict, as_list(data.get("columns"))):
        quantiles = as_dict(column.get("quantiles"))
        top = ", ".join(
            f"{one.get('value')} ({text(one.get('count'))})"
            for one in map(as_dict, as_list(column.get("top")))
        )
        rows.append(
            [
                column.get("name"),
                column.get("type") or column.get("dtype"),
                column.get("missing"),
                column.get("missing_fraction"),
                column.get("distinct"),
                column.get("min"),
                quantiles.get("p50"),
                column.get("max"),
                top,
                column.get("outside_schema"),
            ]
        )
    return item(
        f"Data quality profile of {version.node_id}",
        version.node_id,
        {
            "format": data.get("format"),
            "rows": data.get("rows"),
            "duplicate_rows": data.get("duplicate_rows"),
            "duplicate_subjects": data.get("duplicate_subjects"),
            "target_column": target.get("column"),
            "target_classes": classes,
            "computed_at": utc(profile.computed_at),
        },
        sha256=profile.sha256,
        headers=QUALITY_HEADERS,
        rows=rows,
    )


def bias_items(version: ModelVersion) -> list[Evidence]:
    """The bias examination (``bias-examination/1``) as stored on the model version; [] when none ran."""
    data = as_dict(version.bias_examination)
    if not data:
        return []
    rows: list[list[Any]] = []
    per_attribute: dict[str, Any] = {}
    for attribute in map(as_dict, as_list(data.get("attributes"))):
        column = text(attribute.get("column"))
        per_attribute[f"demographic_parity_difference:{column}"] = attribute.get(
            "demographic_parity_difference"
        )
        per_attribute[f"equalized_odds_difference:{column}"] = attribute.get("equalized_odds_difference")
        categories = ", ".join(map(text, as_list(attribute.get("data_categories"))))
        rows.extend(
            [
                column,
                categories,
                attribute.get("proxy"),
                group.get("value"),
                group.get("count"),
                group.get("selection_rate"),
                group.get("true_positive_rate"),
                group.get("false_positive_rate"),
            ]
            for group in map(as_dict, as_list(attribute.get("groups")))
        )
    found = [
        item(
            "Bias examination",
            version.node_id,
            {
                "format": data.get("format"),
                "evaluated_on": data.get("evaluated_on"),
                "rows": data.get("rows"),
                "positive_label": data.get("positive_label"),
                "library": data.get("library"),
                "demographic_parity_difference": data.get("demographic_parity_difference"),
                "equalized_odds_difference": data.get("equalized_odds_difference"),
                **per_attribute,
            },
            headers=BIAS_HEADERS,
            rows=rows,
        )
    ]
    skipped = [[one.get("column"), one.get("reason")] for one in map(as_dict, as_list(data.get("skipped")))]
    if skipped:
        found.append(
            item(
                "Attributes not examined",
                version.node_id,
                headers=("Attribute", "Why not examined"),
                rows=skipped,
            )
        )
    return found


def bias_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The bias figures among a version's metrics (``demographic_parity_difference[:<column>]``, ...)."""
    return {
        key: value
        for key, value in sorted(metrics.items())
        if key.split(":", 1)[0] in {"demographic_parity_difference", "equalized_odds_difference"}
    }
