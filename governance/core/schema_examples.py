"""Request examples and the links the OpenAPI document gives beyond what :mod:`governance.core.schema`
derives: a valid body for each operation whose input a client cannot guess (a consent grant, an
OpenLineage RunEvent, a policy, a release request, rows for the ``churn`` model's input schema), query
parameters a view reads without a serializer, and links from responses whose schema is free-form.

The names are the README's walk-through (model ``churn``, dataset ``crm/customers``, policy
``train-default``), so that a client trying the examples against a demo database gets 2xx answers.
"""

from __future__ import annotations

from typing import Any

_SHA256 = "9f2c4e1b7a6d3c5e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60"
_RUN_ID = "0193a4e2-7c1d-7b3e-9f4a-2d5c6e7f8a90"
_SPEC = "https://openlineage.io/spec"

SPEC: dict[str, Any] = {
    "kind": "train",
    "environment": "*",
    "risk_levels": ["*"],
    "checks": [{"name": "risk_not_prohibited"}, {"name": "metric_thresholds"}],
    "required_approvals": [{"role": "compliance_officer", "count": 1}],
    "approval_validity_seconds": 86_400,
}

# operationId -> (media type, the example body).
REQUEST_EXAMPLES: dict[str, tuple[str, Any]] = {
    "v1_consent_create": (
        "application/json",
        {
            "subject_id": "c-0001",
            "purpose": "train_ai_system",
            "event": "grant",
            "lawful_basis": "consent",
            "jurisdiction": "eu_eea",
            "method": "api",
            "source": "crm-web-form",
        },
    ),
    "v1_consent_import_create": (
        "text/csv",
        "subject_id,purpose,event,jurisdiction,occurred_at,lawful_basis\n"
        "c-0002,train_ai_system,grant,eu_eea,2026-11-02T09:30:00Z,consent\n",
    ),
    "v1_datasets_versions_create": (
        "application/json",
        {
            "version": "2026-12",
            "uri": "s3://crm-exports/customers/2026-12.csv",
            "sha256": _SHA256,
            "size": 10_240,
            "row_count": 300,
            "schema": [
                {"name": "customer_id", "type": "string"},
                {"name": "tenure", "type": "integer"},
                {"name": "plan", "type": "string"},
                {"name": "monthly_spend", "type": "number"},
            ],
        },
    ),
    "v1_datasets_columns_update": (
        "application/json",
        {"columns": {"email": ["user.contact.email"], "diagnosis": ["user.health_and_medical"]}},
    ),
    "v1_models_versions_create": (
        "application/json",
        {
            "artifact_uri": "s3://models/churn/2026-12/model.skops",
            "artifact_sha256": _SHA256,
            "artifact_size": 640_220,
            "framework": "sklearn",
            "parameters": {"n_estimators": 20, "max_depth": 5},
            "metrics": {"accuracy": 0.81},
            "input_schema": [
                {"name": "tenure", "type": "integer"},
                {"name": "plan", "type": "string"},
                {"name": "monthly_spend", "type": "number"},
            ],
        },
    ),
    "v1_deployments_predict_create": (
        "application/json",
        {"rows": [{"tenure": 12, "plan": "basic", "monthly_spend": 42.5}]},
    ),
    "v1_deployments_labels_create": (
        "application/json",
        {"labels": [{"prediction_id": "3f1c2b9e-5d4a-4e8f-9a1b-2c3d4e5f6a7b", "label": 1}]},
    ),
    "v1_deployments_create": (
        "application/json",
        {"model": "churn", "version": 1, "environment": "staging", "endpoint": "", "release": 2},
    ),
    "lineage_event_ingest": (
        "application/json",
        {
            "eventTime": "2026-12-01T08:00:00.000000+00:00",
            "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/client/python",
            "schemaURL": f"{_SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "eventType": "COMPLETE",
            "run": {"runId": _RUN_ID, "facets": {}},
            "job": {"namespace": "ml-pipelines", "name": "score-customers", "facets": {}},
            "inputs": [{"namespace": "crm", "name": "customers", "facets": {}}],
            "outputs": [{"namespace": "crm", "name": "churn-scores", "facets": {}}],
        },
    ),
    "v1_policies_create": (
        "application/json",
        {"name": "retrain-monthly", "description": "Monthly retraining; one officer.", **SPEC},
    ),
    "v1_policies_versions_create": (
        "application/json",
        {**SPEC, "approval_validity_seconds": 172_800, "change_note": "two days to sign"},
    ),
    "v1_privacy_requests_create": (
        "application/json",
        {"subject_id": "c-0003", "type": "erasure", "jurisdiction": "eu_eea"},
    ),
    "v1_privacy_requests_exemptions_create": (
        "application/json",
        {"model": "churn", "version": 1, "ground": "legal_claims", "reason": "held for a pending claim"},
    ),
    "v1_releases_create": (
        "application/json",
        {
            "kind": "train",
            "model": "churn",
            "datasets": [{"namespace": "crm", "name": "customers", "version": "1"}],
            "parameters": {"target": "churned", "n_estimators": 20, "max_depth": 5},
            "code_version": "git:4f2a9c1",
            "metric_thresholds": {"accuracy": 0.6},
            "risk_level": "limited",
        },
    ),
    "v1_privacy_requests_status_create": ("application/json", {"status": "completed"}),
    "v1_releases_withdraw_create": ("application/json", {"reason": "superseded by a retrain"}),
    "v1_releases_signatures_create": (
        "application/json",
        {"meaning": "approved", "comment": "thresholds and data checked", "password": "your password"},
    ),
    "v1_releases_signatures_revoke_create": ("application/json", {"reason": "signed the wrong release"}),
}

# operationId -> {query parameter: example}.
QUERY_EXAMPLES: dict[str, dict[str, Any]] = {
    "v1_datasets_versions_eligibility_retrieve": {"purpose": "train_ai_system"},
    "v1_deployments_at_retrieve": {
        "environment": "staging",
        "model": "churn",
        "time": "2030-01-01T00:00:00Z",
    },
}

# Datasets are named within a namespace the views read from ``?namespace=`` ("default" when left out).
NAMESPACE_PARAMETER: dict[str, Any] = {
    "name": "namespace",
    "in": "query",
    "required": False,
    "description": "The dataset's namespace (`default` when left out).",
    "schema": {"type": "string", "default": "default"},
    "example": "crm",
}

# Links from responses drf-spectacular cannot see into (a free-form object with an ``id``):
# source operationId -> (status, {target operationId: {parameter: expression}}).
EXTRA_LINKS: dict[str, tuple[str, dict[str, dict[str, str]]]] = {
    "v1_privacy_requests_create": (
        "201",
        {
            target: {"request_id": "$response.body#/request/id"}
            for target in (
                "v1_privacy_requests_retrieve",
                "v1_privacy_requests_erase_rows_create",
                "v1_privacy_requests_exemptions_create",
                "v1_privacy_requests_impact_create",
                "v1_privacy_requests_status_create",
            )
        },
    ),
}
