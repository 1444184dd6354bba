"""The ``data_quality`` check (issue 20): a training request is judged on the quality profile of each
dataset version it pins, under rules the policy holds as data; the profile's hash is pinned with the data.

Run on SQLite and, with DATABASE_URL set, on PostgreSQL (acceptance 1 asks both)."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
from django.core.files import File

from audit.actors import Actor
from audit.jcs import canonical_json
from audit.models import AuditEntry
from governance.approvals import hashing, rules_quality, selectors
from governance.approvals.models import Policy, ReleaseRequest
from governance.approvals.strictness import strictness_gaps
from registry.models import DatasetVersion
from registry.models_quality import QualityProfile
from registry.services.datasets import dataset_create, dataset_version_upload
from tests.approvals.factories import client_for, dataset_version, make_policy, spec, train_request

pytestmark = pytest.mark.django_db

STRICT = {"max_missing_fraction": {"*": 0.05}, "no_duplicate_subjects": True}


def _csv(*, rows: int = 100, missing_income: int = 0, duplicate_ids: int = 0) -> bytes:
    """``rows`` customers; the first ``missing_income`` have no income; the last ``duplicate_ids`` rows
    reuse the ids of the first ones."""
    lines = ["customer_id,age,income,sex,label"]
    for n in range(rows):
        subject = n if n < rows - duplicate_ids else n - (rows - duplicate_ids)
        income = "" if n < missing_income else f"{30000 + n * 10}"
        lines.append(f"CUST-{subject:04d}-ZZ,{20 + n % 50},{income},{'F' if n % 2 else 'M'},{n % 2}")
    return ("\n".join(lines) + "\n").encode()


def _version(owner: Any, content: bytes, *, name: str = "customers", version: str = "v1") -> DatasetVersion:
    actor = Actor.for_user(owner)
    dataset = dataset_create(
        actor=actor,
        namespace="warehouse",
        name=name,
        holds_personal_data=True,
        subject_id_column="customer_id",
        data_categories=["user.financial"],
        purposes=["train_ai_system"],
        target_column="label",
    )
    upload = File(io.BytesIO(content), name=f"{name}.csv")
    return dataset_version_upload(actor=actor, dataset=dataset, upload=upload, version=version)


def _quality_policy(name: str = "train-quality", **params: Any) -> None:
    make_policy(name, checks=[{"name": "data_quality", "params": params or STRICT}])


def _check(release: ReleaseRequest) -> dict[str, Any]:
    return next(check for check in release.checks if check["name"] == "data_quality")


# --- Acceptance 1 -----------------------------------------------------------------------------------------


def test_a_version_with_8_percent_missing_and_duplicate_subjects_fails_naming_both(requester: Any) -> None:
    _quality_policy()
    version = _version(requester, _csv(missing_income=8, duplicate_ids=12))

    release = train_request(requester, version)

    check = _check(release)
    assert release.status == "rejected"
    assert check["status"] == "failed"
    assert "customers#v1: income missing 8.0% > 5%; 12 duplicate subject ids" in check["detail"]
    assert "data_quality" in release.decision_reason
    failed = [
        (one["rule"], one["column"]) for one in check["data"]["versions"][0]["findings"] if not one["passed"]
    ]
    assert failed == [("max_missing_fraction", "income"), ("no_duplicate_subjects", None)]
    assert check["data"]["versions"][0]["profile_sha256"] == version.quality_profile.sha256


def test_a_clean_version_passes(requester: Any) -> None:
    _quality_policy()
    version = _version(requester, _csv(missing_income=4))

    release = train_request(requester, version)

    check = _check(release)
    assert check["status"] == "passed", check["detail"]
    assert release.status == "pending"
    findings = check["data"]["versions"][0]["findings"]
    income = next(one for one in findings if one["column"] == "income")
    assert income == {
        "rule": "max_missing_fraction",
        "column": "income",
        "limit": 0.05,
        "measured": 0.04,
        "passed": True,
        "detail": "",
    }


def test_a_version_without_a_profile_fails_as_nothing_was_examined(requester: Any) -> None:
    _quality_policy()
    version = dataset_version(requester)  # registered by reference, as an OpenLineage event would

    release = train_request(requester, version)

    assert _check(release)["status"] == "failed"
    assert _check(release)["detail"] == (
        "customers#v1: no quality profile: register the version from its file"
    )


def test_rows_per_class_and_rows_are_judged_per_class(requester: Any) -> None:
    _quality_policy(min_rows=200, min_rows_per_class=60)
    version = _version(requester, _csv())

    detail = _check(train_request(requester, version))["detail"]

    assert "100 rows < 200" in detail
    assert "label class 0 has 50 rows < 60" in detail and "label class 1 has 50 rows < 60" in detail


# --- The profile is pinned with the data ------------------------------------------------------------------


def test_the_profile_hash_is_pinned_in_the_request_and_a_changed_profile_would_not_match(
    requester: Any,
) -> None:
    _quality_policy()
    version = _version(requester, _csv())
    profile = QualityProfile.objects.get(version=version)
    assert profile.sha256 == hashlib.sha256(canonical_json(profile.profile)).hexdigest()

    release = train_request(requester, version)

    pinned = hashing.pin(version.node_id, version.sha256, profile.sha256)
    assert pinned["quality_profile_sha256"] == profile.sha256
    document = selectors.release_document(release, [pinned])
    assert document["pinned"] == [pinned]
    assert release.request_hash == hashing.request_hash(document)
    changed = hashing.pin(version.node_id, version.sha256, "0" * 64)
    assert hashing.request_hash(selectors.release_document(release, [changed])) != release.request_hash
    without = hashing.pin(version.node_id, version.sha256)
    assert hashing.request_hash(selectors.release_document(release, [without])) != release.request_hash
    entry = json.loads(AuditEntry.objects.get(action="release.create").entry)
    assert entry["data"]["pinned"] == [pinned]


def test_the_request_shows_the_pinned_profile_and_stops_hashing_true_when_the_profile_row_changes(
    requester: Any,
) -> None:
    _quality_policy()
    version = _version(requester, _csv())
    profile = QualityProfile.objects.get(version=version)
    release = train_request(requester, version)
    client = client_for(requester)

    shown = client.get(f"/api/v1/releases/{release.pk}").json()
    QualityProfile.objects.filter(pk=profile.pk).update(sha256="0" * 64)
    after = client.get(f"/api/v1/releases/{release.pk}").json()

    assert shown["pinned"] == [
        {"node_id": version.node_id, "sha256": version.sha256, "quality_profile_sha256": profile.sha256}
    ]
    assert shown["request_hash_valid"] is True
    assert after["request_hash_valid"] is False


def test_a_profile_changed_after_it_was_stored_fails_the_check(requester: Any) -> None:
    _quality_policy()
    version = _version(requester, _csv())
    profile = QualityProfile.objects.get(version=version)
    QualityProfile.objects.filter(pk=profile.pk).update(profile={**profile.profile, "rows": 1})

    check = _check(train_request(requester, version))

    assert check["status"] == "failed"
    assert "customers#v1: its quality profile no longer matches the SHA-256 stored with it" in check["detail"]


def test_a_version_without_a_profile_hashes_as_before(requester: Any) -> None:
    make_policy("train-default")
    version = dataset_version(requester)

    release = train_request(requester, version)

    assert release.request_hash == hashing.request_hash(selectors.release_document(release))


# --- Rules as policy data ---------------------------------------------------------------------------------


def test_a_policy_with_looser_quality_rules_cannot_be_chosen_over_a_stricter_one(requester: Any) -> None:
    _quality_policy("train-strict", max_missing_fraction={"*": 0.05}, no_duplicate_subjects=True, min_rows=10)
    _quality_policy("train-loose", max_missing_fraction={"*": 0.1, "income": 0.2}, min_rows=5)
    version = _version(requester, _csv())
    client = client_for(requester)
    body = {
        "kind": "train",
        "model": "churn",
        "risk_level": "minimal",
        "datasets": [{"namespace": "warehouse", "name": "customers", "version": version.version}],
        "parameters": {"target": "label", "n_estimators": 50},
        "code_version": "git:abc123",
        "metric_thresholds": {"accuracy": 0.8},
    }

    weaker = client.post("/api/v1/releases", {**body, "policy": "train-loose"}, format="json")
    chosen = client.post("/api/v1/releases", body, format="json")

    assert weaker.status_code == 400, weaker.json()
    assert weaker.json()["required_policy"] == ["train-strict"]
    detail = weaker.json()["detail"]
    assert "data_quality max_missing_fraction.* at most 0.05" in detail
    assert "data_quality max_missing_fraction.income at most 0.05" in detail
    assert "data_quality no_duplicate_subjects true" in detail
    assert "data_quality min_rows at least 10" in detail
    assert chosen.status_code == 201 and chosen.json()["policy"]["name"] == "train-strict"


def test_gaps_compare_every_rule() -> None:
    strict = {
        "max_missing_fraction": {"*": 0.05, "income": 0.01},
        "no_duplicate_rows": True,
        "max_outside_schema": 0,
    }
    assert rules_quality.gaps(strict, strict) == []
    assert rules_quality.gaps(strict, {}) == []
    assert rules_quality.gaps({}, strict) == [
        "max_missing_fraction.* at most 0.05",
        "max_missing_fraction.income at most 0.01",
        "no_duplicate_rows true",
        "max_outside_schema at most 0",
    ]
    # A named column looser than the other's "*" is weaker; one stricter than it is not.
    assert rules_quality.gaps(
        {"max_missing_fraction": {"*": 0.05, "age": 0.5}}, {"max_missing_fraction": {"*": 0.1}}
    ) == ["max_missing_fraction.age at most 0.1"]
    assert (
        rules_quality.gaps({"max_missing_fraction": {"*": 0.01}}, {"max_missing_fraction": {"age": 0.05}})
        == []
    )
    loose = spec(checks=[{"name": "data_quality", "params": {"min_rows_per_class": 10}}])
    tight = spec(checks=[{"name": "data_quality", "params": {"min_rows_per_class": 50}}])
    from governance.approvals.rules import policy_spec_validate

    assert strictness_gaps(
        policy_spec_validate(loose), policy_spec_validate(tight), risk_level="minimal"
    ) == ["data_quality min_rows_per_class at least 50"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"max_missing_fraction": {"income": 1.5}},
            "max_missing_fraction.income: a fraction between 0 and 1",
        ),
        ({"max_missing_fraction": {}}, 'max_missing_fraction: an object of column (or "*") to a fraction'),
        ({"no_duplicate_subjects": "yes"}, "no_duplicate_subjects: true or false"),
        ({"min_rows": -1}, "min_rows: a whole number, 0 or more"),
        ({"min_rows": 2**60}, "min_rows: a whole number, 0 or more"),
        ({"min_rows_per_class": 2.5}, "min_rows_per_class: a whole number, 0 or more"),
        ({"max_outside_schema": True}, "max_outside_schema: a whole number, 0 or more"),
        ({"max_missing": 0.1}, "max_missing unknown; use max_missing_fraction"),
    ],
)
def test_bad_quality_params_are_a_400_naming_the_field_and_store_nothing(
    admin_user: Any, params: dict[str, Any], message: str
) -> None:
    body = {"name": "bad-quality", **spec(checks=[{"name": "data_quality", "params": params}])}

    response = client_for(admin_user).post("/api/v1/policies", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert f"checks[0].params: {message}" in response.json()["detail"]
    assert not Policy.objects.filter(name="bad-quality").exists()


# --- The officer's page -----------------------------------------------------------------------------------


def test_the_sign_off_page_shows_each_rule_its_measured_value_and_the_verdict_per_column(
    requester: Any, approver: Any, client: Any
) -> None:
    _quality_policy(max_missing_fraction={"*": 0.05, "income": 0.1}, no_duplicate_subjects=True)
    version = _version(requester, _csv(missing_income=8, duplicate_ids=3))
    release = train_request(requester, version)
    client.force_login(approver)

    page = client.get(f"/approvals/{release.pk}/").content.decode()

    assert 'id="data-quality"' in page
    assert "customers#v1" in page and version.quality_profile.sha256 in page
    assert "max_missing_fraction" in page and "income" in page
    assert "8.0%" in page and "10%" in page
    assert "3 duplicate subject ids" in page
    assert 'class="quality-profile"' in page and "withheld (personal data)" in page  # the subject ids
    assert "F (50), M (50)" in page  # sex: a group count, shown
    assert "CUST-0" not in page


def test_a_rule_on_values_outside_the_schema_fails_a_version_profiled_with_none_declared(
    requester: Any,
) -> None:
    """Clearing the declared schema before an upload is no way around ``max_outside_schema``."""
    _quality_policy(max_outside_schema=0)
    version = _version(requester, _csv())

    check = _check(train_request(requester, version))

    assert check["status"] == "failed"
    assert "no declared schema to judge values by" in check["detail"]
