"""The training job examines bias on its held-out rows (issue 20, acceptance 2): fairlearn's group rates
and differences per declared protected attribute, recorded on the model version and among its
service-computed metrics whether or not a policy sets a threshold; a deploy under a policy that does is
judged by them."""

from __future__ import annotations

import hashlib
import io
import json
import math
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.core.files import File
from django.utils import timezone

from audit.actors import Actor
from audit.jcs import canonical_json
from audit.models import AuditEntry
from governance.approvals.models import Policy
from governance.approvals.selectors import policy_current_version
from governance.approvals.services.policies import policy_version_create
from governance.consent.services.ledger import EventInput, consent_record
from governance.consent.subjects import subject_hash_of
from governance.jobs import bias
from governance.jobs.models import JobStatus, ReleaseJob
from governance.jobs.runner import run_release_job
from registry.models import Dataset, DatasetVersion, ModelVersion
from registry.services.datasets import dataset_create, dataset_version_upload
from tests.jobs import factories

SEX = {"column": "sex", "data_categories": ["user.demographic.gender"], "proxy": False}
AGE_BAND = {"column": "age_band", "data_categories": ["user.demographic.age_range"], "proxy": False}


# --- The examination itself, against hand-computed values ---------------------------------------------------


def _examined(rows: dict[str, list[Any]], truth: list[Any], predicted: list[Any], **kwargs: Any) -> Any:
    attributes = kwargs.pop("attributes", [SEX])
    return bias.examine(
        pd.DataFrame(rows),
        truth,
        predicted,
        positive_label=kwargs.pop("positive_label", 1),
        attributes=attributes,
        **kwargs,
    )


def test_group_rates_and_differences_match_the_hand_computed_values() -> None:
    # f: truth 1 1 0 0, predicted 1 1 1 0 -> selection 3/4, TPR 2/2, FPR 1/2
    # m: truth 1 0 0 0, predicted 1 0 0 0 -> selection 1/4, TPR 1/1, FPR 0/3
    examination = _examined(
        {"sex": ["f"] * 4 + ["m"] * 4}, [1, 1, 0, 0, 1, 0, 0, 0], [1, 1, 1, 0, 1, 0, 0, 0]
    )

    assert examination["format"] == "bias-examination/1"
    assert examination["evaluated_on"] == "held-out rows"
    assert examination["rows"] == 8 and examination["positive_label"] == "1"
    assert examination["library"].startswith("fairlearn 0.")
    [sex] = examination["attributes"]
    assert sex["column"] == "sex" and sex["data_categories"] == ["user.demographic.gender"]
    assert sex["proxy"] is False
    assert sex["groups"] == [
        {
            "value": "f",
            "count": 4,
            "selection_rate": 0.75,
            "true_positive_rate": 1.0,
            "false_positive_rate": 0.5,
        },
        {
            "value": "m",
            "count": 4,
            "selection_rate": 0.25,
            "true_positive_rate": 1.0,
            "false_positive_rate": 0.0,
        },
    ]
    assert sex["demographic_parity_difference"] == 0.5  # 0.75 - 0.25
    assert sex["equalized_odds_difference"] == 0.5  # max(|1.0 - 1.0|, |0.5 - 0.0|)
    assert examination["demographic_parity_difference"] == 0.5
    assert examination["equalized_odds_difference"] == 0.5
    assert examination["skipped"] == []
    assert set(examination) == {
        "format",
        "evaluated_on",
        "rows",
        "positive_label",
        "library",
        "attributes",
        "demographic_parity_difference",
        "equalized_odds_difference",
        "skipped",
    }


def test_missing_values_form_their_own_group_and_an_undefined_rate_is_none() -> None:
    # a: truth 1 0, predicted 1 1 -> selection 1, TPR 1, FPR 1
    # b: truth 0 0, predicted 0 1 -> selection 1/2, no positives (TPR undefined), FPR 1/2
    # (missing): truth 1, predicted 0 -> selection 0, TPR 0, no negatives (FPR undefined)
    examination = _examined(
        {"region": ["a", "a", "b", "b", None, ""]},
        [1, 0, 0, 0, 1, 1],
        [1, 1, 0, 1, 0, 0],
        attributes=[{"column": "region", "data_categories": ["user.location"], "proxy": True}],
    )

    [region] = examination["attributes"]
    assert region["proxy"] is True
    assert region["groups"] == [
        {
            "value": "a",
            "count": 2,
            "selection_rate": 1.0,
            "true_positive_rate": 1.0,
            "false_positive_rate": 1.0,
        },
        {
            "value": "b",
            "count": 2,
            "selection_rate": 0.5,
            "true_positive_rate": None,
            "false_positive_rate": 0.5,
        },
        {
            "value": "(missing)",
            "count": 2,
            "selection_rate": 0.0,
            "true_positive_rate": 0.0,
            "false_positive_rate": None,
        },
    ]
    assert region["demographic_parity_difference"] == 1.0
    # Only the rates groups define: TPR a 1.0 vs (missing) 0.0; FPR a 1.0 vs b 0.5.
    assert region["equalized_odds_difference"] == 1.0
    assert all(
        value is None or math.isfinite(value)
        for group in region["groups"]
        for value in (group["selection_rate"], group["true_positive_rate"], group["false_positive_rate"])
    )


def test_the_largest_difference_over_attributes_and_per_column_metrics() -> None:
    examination = _examined(
        {"sex": ["f", "f", "m", "m"], "age_band": ["18-30", "31+", "18-30", "31+"]},
        [1, 0, 1, 0],
        [1, 1, 1, 0],
        attributes=[SEX, AGE_BAND],
    )

    # sex: selection f 1.0, m 0.5 -> 0.5; TPR 1 and 1, FPR f 1 vs m 0 -> EOD 1.0.
    # age_band: selection 18-30 1.0, 31+ 0.5 -> 0.5; 18-30 has no negatives and 31+ no positives, so no
    # rate is defined by two groups: its EOD is None and left out of the metrics.
    assert examination["attributes"][1]["equalized_odds_difference"] is None
    assert bias.examination_metrics(examination) == {
        "demographic_parity_difference": 0.5,
        "demographic_parity_difference:sex": 0.5,
        "demographic_parity_difference:age_band": 0.5,
        "equalized_odds_difference": 1.0,
        "equalized_odds_difference:sex": 1.0,
    }
    summary = bias.examination_summary(examination)
    assert summary["attributes"][0] == {
        "column": "sex",
        "proxy": False,
        "groups": 2,
        "smallest_group": 2,
        "demographic_parity_difference": 0.5,
        "equalized_odds_difference": 1.0,
    }
    assert "18-30" not in json.dumps(summary) and '"f"' not in json.dumps(summary)


def test_a_column_absent_from_the_rows_is_skipped_naming_it() -> None:
    examination = _examined({"sex": ["f", "m"]}, [1, 0], [1, 0], attributes=[SEX, AGE_BAND])

    assert [item["column"] for item in examination["attributes"]] == ["sex"]
    assert examination["skipped"] == [
        {
            "column": "age_band",
            "reason": "the column is not in the held-out rows (not in the data the model was trained on)",
        }
    ]


def test_a_multiclass_target_is_examined_one_class_against_the_rest_or_skipped_with_the_reason() -> None:
    classes = ["high", "low", "mid"]
    label, reason = bias.positive_label_choose(classes)
    assert label is None and "name parameters.positive_label" in reason
    skipped = _examined(
        {"sex": ["f", "m"]}, ["high", "low"], ["high", "mid"], positive_label=None, not_examined=reason
    )
    assert skipped["attributes"] == [] and skipped["skipped"] == [{"column": "sex", "reason": reason}]
    assert skipped["demographic_parity_difference"] is None and skipped["positive_label"] is None

    label, reason = bias.positive_label_choose(classes, "high")
    examined = _examined(
        {"sex": ["f", "f", "m", "m"]},
        ["high", "low", "mid", "high"],
        ["high", "high", "low", "mid"],
        positive_label=label,
    )
    # high vs rest: f truth 1 0, predicted 1 1 -> selection 1.0; m truth 0 1, predicted 0 0 -> 0.0
    assert examined["positive_label"] == "high"
    assert examined["demographic_parity_difference"] == 1.0
    assert bias.positive_label_choose([0, 1]) == (1, "")
    assert bias.positive_label_choose([0, 1], "0") == (0, "")
    assert "is not a class" in bias.positive_label_choose([0, 1], "yes")[1]


def test_a_column_of_too_many_values_is_skipped_with_advice() -> None:
    rows = 60
    examination = _examined(
        {"age": list(range(rows))},
        [n % 2 for n in range(rows)],
        [0] * rows,
        attributes=[{"column": "age", "data_categories": [], "proxy": False}],
    )
    assert examination["skipped"] == [
        {"column": "age", "reason": "60 distinct values (more than 50); declare a banded column"}
    ]


# --- Through the training job -------------------------------------------------------------------------------


def _csv(rows: int, *, biased: bool, seed: int = 11) -> bytes:
    """Customers with a sex column; biased: churn when spend is above 40 for women but 48 for men, so
    women's positive rate (about 0.5) is twice men's (about 0.25); else the same cut-off for both."""
    rng = np.random.default_rng(seed)
    lines = ["customer_id,tenure,plan,monthly_spend,sex,churned"]
    for n in range(rows):
        customer = n // 2
        sex = "f" if customer % 2 else "m"
        tenure = int(rng.integers(1, 60))
        plan = ["basic", "plus", "pro"][int(rng.integers(0, 3))]
        spend = round(float(rng.normal(40, 12)), 2)
        cutoff = (40 if sex == "f" else 48) if biased else 45
        lines.append(f"c-{customer:04d},{tenure},{plan},{spend},{sex},{int(spend > cutoff)}")
    return ("\n".join(lines) + "\n").encode()


def _dataset(owner: Any, *, rows: int, biased: bool, declared: list[dict[str, Any]]) -> DatasetVersion:
    """crm/customers with consent for every customer, declaring ``declared`` protected attributes (set on
    the row: the dataset API's validation of them is another piece of issue 20)."""
    actor = Actor.for_user(owner)
    dataset = dataset_create(
        actor=actor,
        namespace="crm",
        name="customers",
        holds_personal_data=True,
        subject_id_column="customer_id",
        jurisdictions=["eu_eea"],
        data_categories=["user.financial", "user.demographic.gender"],
        purposes=["train_ai_system"],
    )
    Dataset.objects.filter(pk=dataset.pk).update(protected_attributes=declared, target_column="churned")
    version = dataset_version_upload(
        actor=actor, dataset=dataset, upload=File(io.BytesIO(_csv(rows, biased=biased)), name="customers.csv")
    )
    past = timezone.now() - timedelta(days=30)
    for n in range(rows // 2):
        consent_record(
            actor=actor,
            event=EventInput(
                subject_hash=subject_hash_of(f"c-{n:04d}"),
                purpose="train_ai_system",
                kind="grant",
                jurisdiction="eu_eea",
                method="api",
                lawful_basis="consent",
                occurred_at=past,
            ),
        )
    return DatasetVersion.objects.select_related("dataset").get(pk=version.pk)


def _client(user: Any) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def _trained(
    people: Any, version: DatasetVersion, sent: list[dict[str, Any]], **parameters: Any
) -> ModelVersion:
    release = factories.train_request(
        people.requester, version, parameters={**factories.PARAMETERS, **parameters}
    )
    factories.sign(release, people.approver)
    response = _client(people.requester).post(f"/api/v1/releases/{release.pk}/run")
    assert response.status_code == 201, response.json()
    message = sent[-1]
    outcome = run_release_job(job_id=message["job_id"], grant=message["grant"], worker="test-worker")
    assert outcome == JobStatus.SUCCEEDED, ReleaseJob.objects.get(pk=message["job_id"]).error
    return ModelVersion.objects.order_by("-pk").first()


def _bias_policy_on_deploys(params: dict[str, Any]) -> None:
    """The default deploy policy gains the bias check (an administrator's new policy version)."""
    policy = Policy.objects.get(name="deploy-default")
    spec = policy_current_version(policy).spec()
    spec["checks"] = [*spec["checks"], {"name": "bias_within_threshold", "params": params}]
    policy_version_create(actor=factories.SYSTEM, policy=policy, spec=spec, change_note="bias thresholds")


def _bias_check(people: Any, version: ModelVersion) -> dict[str, Any]:
    release = factories.deploy_request(people.requester, version.version)
    [check] = [check for check in release.checks if check["name"] == "bias_within_threshold"]
    return check


@pytest.mark.django_db
def test_a_model_whose_groups_differ_twofold_shows_the_difference_and_fails_a_policy_of_0_1(
    sent: list,
) -> None:
    people = factories.people()
    version = _trained(people, _dataset(people.requester, rows=600, biased=True, declared=[SEX]), sent)

    # No policy sets a threshold yet: the examination ran all the same.
    examination = version.bias_examination
    assert examination["format"] == "bias-examination/1" and examination["positive_label"] == "1"
    assert examination["rows"] == 150  # the held-out quarter the accuracy is measured on
    [sex] = examination["attributes"]
    rates = {group["value"]: group["selection_rate"] for group in sex["groups"]}
    assert rates["f"] > 1.5 * rates["m"]
    assert sum(group["count"] for group in sex["groups"]) == 150
    dpd = version.metrics["demographic_parity_difference"]
    assert dpd > 0.1 and dpd == version.metrics["demographic_parity_difference:sex"]
    assert dpd == sex["demographic_parity_difference"]
    assert "equalized_odds_difference:sex" in version.metrics
    assert version.metrics_source == "service" and version.metrics["accuracy"] >= 0.6
    assert version.run.metrics == version.metrics
    detail = _client(people.approver).get("/api/v1/models/churn/versions/1").json()
    assert detail["bias_examination"] == examination
    assert detail["metrics"]["demographic_parity_difference"] == dpd
    completed = json.loads(AuditEntry.objects.get(action="job.complete").entry)["data"]
    assert completed["bias"]["attributes"] == [
        {
            "column": "sex",
            "proxy": False,
            "groups": 2,
            "smallest_group": min(group["count"] for group in sex["groups"]),
            "demographic_parity_difference": dpd,
            "equalized_odds_difference": sex["equalized_odds_difference"],
        }
    ]

    # The examination is pinned by its hash in the signed entry that registered the version.
    created = json.loads(AuditEntry.objects.get(action="model_version.create").entry)["data"]
    assert created["bias_examination_sha256"] == hashlib.sha256(canonical_json(examination)).hexdigest()

    _bias_policy_on_deploys({"demographic_parity_difference": 0.1})
    check = _bias_check(people, version)

    assert check["status"] == "failed"
    assert check["detail"] == f"sex: demographic_parity_difference {dpd} > 0.1"


@pytest.mark.django_db
def test_a_fair_model_passes_the_same_policy(sent: list) -> None:
    people = factories.people()
    version = _trained(people, _dataset(people.requester, rows=800, biased=False, declared=[SEX]), sent)
    _bias_policy_on_deploys({"demographic_parity_difference": 0.1, "attributes": ["sex"]})

    check = _bias_check(people, version)

    assert version.metrics["demographic_parity_difference"] <= 0.1
    assert check["status"] == "passed", check["detail"]
    assert (
        check["data"]["values"]["sex"]["demographic_parity_difference"]
        == (version.metrics["demographic_parity_difference"])
    )


@pytest.mark.django_db
def test_a_protected_column_left_out_of_the_features_is_examined_and_one_absent_from_the_data_is_skipped(
    sent: list,
) -> None:
    people = factories.people()
    dataset = _dataset(people.requester, rows=300, biased=True, declared=[SEX, AGE_BAND])
    version = _trained(people, dataset, sent, features=["tenure", "plan", "monthly_spend"])

    assert [item["name"] for item in version.input_schema] == ["tenure", "plan", "monthly_spend"]
    examination = version.bias_examination
    assert [item["column"] for item in examination["attributes"]] == ["sex"]
    assert examination["skipped"] == [
        {
            "column": "age_band",
            "reason": "the column is not in the held-out rows (not in the data the model was trained on)",
        }
    ]
    assert not any(name.endswith(":age_band") for name in version.metrics)

    _bias_policy_on_deploys({"attributes": ["age_band"]})
    check = _bias_check(people, version)

    assert check["status"] == "failed"
    assert check["detail"].startswith("age_band: not examined (the column is not in the held-out rows")


@pytest.mark.django_db
def test_a_model_trained_on_data_declaring_nothing_has_no_examination(sent: list) -> None:
    people = factories.people()
    version = _trained(people, factories.customers_dataset(people.requester), sent)
    _bias_policy_on_deploys({"demographic_parity_difference": 0.1})

    assert version.bias_examination == {}
    assert not any(name.startswith("demographic_parity") for name in version.metrics)
    assert "bias" not in ReleaseJob.objects.get().result
    check = _bias_check(people, version)
    assert check["status"] == "failed" and check["detail"].startswith("no bias examination recorded")


@pytest.mark.django_db
def test_a_bias_bound_declared_in_the_training_request_is_held_by_the_job(sent: list) -> None:
    people = factories.people()
    dataset = _dataset(people.requester, rows=600, biased=True, declared=[SEX])
    release = factories.train_request(
        people.requester,
        dataset,
        metric_thresholds={"accuracy": 0.6, "demographic_parity_difference:sex": {"max": 0.1}},
    )
    factories.sign(release, people.approver)
    _client(people.requester).post(f"/api/v1/releases/{release.pk}/run")
    message = sent[-1]

    outcome = run_release_job(job_id=message["job_id"], grant=message["grant"], worker="test-worker")

    assert outcome == JobStatus.FAILED
    error = ReleaseJob.objects.get(pk=message["job_id"]).error
    assert "demographic_parity_difference:sex 0." in error and "> 0.1" in error
    assert not ModelVersion.objects.exists()
