"""A model version trained through the real path (request, sign-off, worker code in-process), and the
stored shapes of a data quality profile and a bias examination to put beside it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from rest_framework.test import APIClient

from audit.jcs import canonical_json
from governance.jobs.models import JobStatus, ReleaseJob
from governance.jobs.runner import run_release_job
from registry.models import DatasetVersion, ModelVersion
from registry.models_quality import QualityProfile
from tests.jobs import factories

PROFILE: dict[str, Any] = {
    "format": "quality-profile/1",
    "rows": 300,
    "columns": [
        {
            "name": "tenure",
            "type": "integer",
            "dtype": "int64",
            "missing": 24,
            "missing_fraction": 0.08,
            "distinct": 59,
            "distinct_exact": True,
            "min": 1,
            "max": 59,
            "quantiles": {"p01": 1, "p25": 14, "p50": 31, "p75": 45, "p99": 59},
            "top": [],
            "outside_schema": 0,
            "outside_schema_rules": {},
        },
        {
            "name": "plan",
            "type": "string",
            "missing": 0,
            "missing_fraction": 0.0,
            "distinct": 3,
            "top": [{"value": "basic", "count": 104}, {"value": "pro", "count": 99}],
            "outside_schema": 7,
        },
    ],
    "duplicate_rows": 0,
    "duplicate_subjects": 150,
    "target": {
        "column": "churned",
        "classes": [
            {"value": "0", "count": 180, "fraction": 0.6},
            {"value": "1", "count": 120, "fraction": 0.4},
        ],
    },
}

BIAS: dict[str, Any] = {
    "format": "bias-examination/1",
    "evaluated_on": "held-out rows",
    "rows": 60,
    "positive_label": "1",
    "library": "fairlearn 0.13.0",
    "attributes": [
        {
            "column": "plan",
            "data_categories": ["user.financial"],
            "proxy": True,
            "groups": [
                {
                    "value": "basic",
                    "count": 20,
                    "selection_rate": 0.625,
                    "true_positive_rate": 0.9,
                    "false_positive_rate": 0.2,
                },
                {
                    "value": "pro",
                    "count": 40,
                    "selection_rate": 0.3125,
                    "true_positive_rate": 0.8,
                    "false_positive_rate": 0.1,
                },
            ],
            "demographic_parity_difference": 0.3125,
            "equalized_odds_difference": 0.1,
        }
    ],
    "demographic_parity_difference": 0.3125,
    "equalized_odds_difference": 0.1,
    "skipped": [{"column": "region", "reason": "not in the data"}],
}


def trained(sent: list[dict[str, Any]]) -> tuple[factories.People, ModelVersion]:
    """``model:churn#1`` trained from an approved, signed request by the worker's code."""
    people = factories.people()
    version = factories.customers_dataset(people.requester)
    release = factories.train_request(people.requester, version)
    factories.sign(release, people.approver)
    client = APIClient()
    client.force_authenticate(people.requester)
    response = client.post(f"/api/v1/releases/{release.pk}/run")
    assert response.status_code == 201, response.json()
    message = sent[-1]
    status = run_release_job(job_id=message["job_id"], grant=message["grant"], worker="test-worker")
    assert status == JobStatus.SUCCEEDED, ReleaseJob.objects.get(pk=message["job_id"]).error
    people.extra["version"] = version
    return people, ModelVersion.objects.get(model__name="churn", version=1)


def record_quality_and_bias(dataset_version: DatasetVersion, model_version: ModelVersion) -> str:
    """Store the profile and the examination as the quality and bias code store them; the profile's
    SHA-256."""
    digest = hashlib.sha256(canonical_json(PROFILE)).hexdigest()
    QualityProfile.objects.update_or_create(
        version=dataset_version,
        defaults={"profile": PROFILE, "sha256": digest, "computed_at": datetime(2026, 12, 1, tzinfo=UTC)},
    )
    metrics = {
        **model_version.metrics,
        "demographic_parity_difference": 0.3125,
        "equalized_odds_difference": 0.1,
    }
    ModelVersion.objects.filter(pk=model_version.pk).update(bias_examination=BIAS, metrics=metrics)
    return digest
