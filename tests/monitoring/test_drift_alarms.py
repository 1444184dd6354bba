"""Drift on a deployed model raises an alarm naming the feature, and the alarm opens a retraining
request that waits for sign-off and whose training applies consent as of when it runs (issue 7,
acceptance 1 and 2)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core import mail
from django.core.files import File
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEntry
from governance.approvals.models import ReleaseRequest, ReleaseStatus
from governance.consent.services.ledger import EventInput, consent_record
from governance.consent.subjects import subject_hash_of
from governance.jobs.models import ReleaseJob
from governance.monitoring import tasks
from governance.monitoring.models import DriftCheck, PredictionLog, ReferenceProfile
from governance.monitoring.services import drift_check_run
from registry.services.datasets import dataset_version_upload
from tests.jobs import factories
from tests.monitoring.conftest import client_for, predict, run_job, traffic

pytestmark = pytest.mark.django_db
CHECKER = Actor.system("tests")


def _check(deployment: Any) -> DriftCheck:
    return drift_check_run(deployment=deployment, actor=CHECKER)


def test_training_stores_a_reference_profile_of_every_feature_and_the_predictions(deployed: Any) -> None:
    profile = ReferenceProfile.objects.get(model_version=deployed.model_version).profile
    assert [feature["name"] for feature in profile["features"]] == ["tenure", "plan", "monthly_spend"]
    spend = profile["features"][2]
    assert spend["type"] == "number" and len(spend["edges"]) == 9 and sum(spend["counts"]) == 300
    assert profile["features"][1]["categories"] and sum(profile["predictions"]["counts"]) == 300
    assert "monitoring.profile_create" in AuditEntry.objects.values_list("action", flat=True)


def test_the_predict_endpoint_logs_bins_not_values_and_returns_prediction_ids(
    story: Any, deployed: Any
) -> None:
    body = predict(story.requester, [{"tenure": 7, "plan": "basic", "monthly_spend": 80.5}])
    assert len(body["prediction_ids"]) == 1
    log = PredictionLog.objects.get(pk=body["prediction_ids"][0])
    assert log.deployment_id == deployed.pk and log.prediction == body["predictions"][0]
    stored = {field.name: getattr(log, field.attname) for field in PredictionLog._meta.fields}
    assert 80.5 not in stored.values() and "basic" not in stored.values()
    assert log.f2 == 9  # monthly_spend 80.5: above every training decile, the open-ended top bin


def test_nothing_is_logged_when_the_sample_rate_is_zero(story: Any, deployed: Any, settings: Any) -> None:
    settings.MONITORING_SAMPLE_RATE = 0.0
    body = predict(story.requester, traffic(3, seed=1))
    assert body["prediction_ids"] is None and not PredictionLog.objects.exists()


def test_traffic_from_the_training_distribution_raises_no_alarm_in_twenty_checks(
    story: Any, deployed: Any, queued: list
) -> None:
    for round_ in range(20):
        predict(story.requester, traffic(300, seed=100 + round_))
        check = _check(deployed)
        assert check.conclusive and check.samples == 300
        assert not check.alarm, check.result["breaches"]
    assert not ReleaseRequest.objects.filter(justification__startswith="Retraining").exists()


def test_a_one_standard_deviation_shift_of_one_feature_raises_an_alarm_naming_it(
    story: Any, deployed: Any, queued: list
) -> None:
    predict(story.requester, traffic(300, seed=7))
    assert not _check(deployed).alarm
    predict(story.requester, traffic(300, seed=8, spend_shift=12.0))
    check = _check(deployed)
    assert check.alarm
    breached = {feature["name"] for feature in check.result["features"] if feature["breached"]}
    assert breached == {"monthly_spend"}
    assert any(breach.startswith("feature monthly_spend: psi") for breach in check.result["breaches"])
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "monitoring.check" in actions and "monitoring.alarm" in actions


def test_too_few_predictions_judge_nothing_and_stay_for_the_next_check(
    story: Any, deployed: Any, queued: list
) -> None:
    predict(story.requester, traffic(50, seed=3, spend_shift=30.0))
    first = _check(deployed)
    assert not first.conclusive and not first.alarm
    predict(story.requester, traffic(60, seed=4, spend_shift=30.0))
    second = _check(deployed)
    assert second.samples == 110 and second.alarm


def test_labels_posted_later_give_accuracy_and_a_drop_raises_an_alarm(
    story: Any, deployed: Any, queued: list
) -> None:
    rows = traffic(120, seed=11)
    body = predict(story.requester, rows)
    wrong = [
        {"prediction_id": pid, "label": 1 - p}
        for pid, p in zip(body["prediction_ids"], body["predictions"], strict=True)
    ]
    response = client_for(story.requester).post(
        "/api/v1/deployments/staging/churn/labels", {"labels": wrong}, format="json"
    )
    assert response.status_code == 201, response.json()
    check = _check(deployed)
    assert check.result["accuracy"]["accuracy"] == 0.0 and check.result["accuracy"]["labelled"] == 120
    assert any(breach.startswith("accuracy: accuracy dropped") for breach in check.result["breaches"])


def _shifted_alarm(story: Any, deployed: Any) -> DriftCheck:
    predict(story.requester, traffic(300, seed=21, spend_shift=12.0))
    check = _check(deployed)
    assert check.alarm and check.retraining_release is not None
    return check


def test_the_alarm_opens_a_retraining_request_on_the_latest_data_that_waits_for_sign_off(
    story: Any, deployed: Any, sent: list, queued: list
) -> None:
    newer = dataset_version_upload(
        actor=Actor.for_user(story.requester),
        dataset=story.extra["version"].dataset,
        upload=File(io.BytesIO(factories.customers_csv(300, seed=9)), name="customers.csv"),
    )
    release = _shifted_alarm(story, deployed).retraining_release
    assert (release.kind, release.status, release.model_name) == ("train", ReleaseStatus.PENDING, "churn")
    assert release.requested_by_id == story.requester.pk  # the run's requester, so they cannot sign it
    assert [item.dataset_version_id for item in release.datasets.all()] == [newer.pk]
    assert release.parameters == factories.PARAMETERS and release.metric_thresholds == {
        "accuracy": {"min": 0.6}
    }
    refused = client_for(story.requester).post(f"/api/v1/releases/{release.pk}/run")
    assert refused.status_code == 409, refused.json()
    # A second breaching check in the same episode reuses the open request.
    predict(story.requester, traffic(300, seed=22, spend_shift=12.0))
    assert _check(deployed).retraining_release == release


def test_the_retraining_applies_the_consent_state_at_the_time_it_runs(
    story: Any, deployed: Any, sent: list, queued: list
) -> None:
    release = _shifted_alarm(story, deployed).retraining_release
    for n in range(30):  # 30 customers withdraw after the alarm, before the retraining runs
        consent_record(
            actor=Actor.for_user(story.requester),
            event=EventInput(
                subject_hash=subject_hash_of(f"c-{n:04d}"),
                purpose="train_ai_system",
                kind="withdraw",
                jurisdiction="eu_eea",
                method="api",
                lawful_basis="consent",
                occurred_at=timezone.now(),
            ),
        )
    factories.sign(release, story.approver)
    assert client_for(story.requester).post(f"/api/v1/releases/{release.pk}/run").status_code == 201
    run_job(sent[-1])
    job = ReleaseJob.objects.get(pk=sent[-1]["job_id"])
    assert job.result["consent"][0]["rows_included"] == 300 - 60  # two rows per withdrawn customer


def test_the_alarm_is_mailed_to_the_alert_addresses(
    story: Any, deployed: Any, queued: list, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.MONITORING_ALERT_EMAILS = ["oncall@example.org"]
    with django_capture_on_commit_callbacks(execute=True):
        check = _shifted_alarm(story, deployed)
    assert ("monitoring.alarm_email", {"check_id": check.pk}) in queued
    tasks.alarm_email.run(check_id=check.pk)
    assert mail.outbox[-1].to == ["oncall@example.org"]
    assert (
        "monthly_spend" in mail.outbox[-1].body
        and f"request {check.retraining_release_id}" in mail.outbox[-1].body
    )


def test_beat_schedules_a_check_of_every_serving_deployment(deployed: Any, queued: list) -> None:
    assert tasks.drift_checks_schedule.run() == [deployed.pk]
    assert queued == [("monitoring.drift_check", {"deployment_id": deployed.pk})]
    assert isinstance(tasks.drift_check.run(deployment_id=deployed.pk), int)


def test_the_thresholds_are_those_of_the_policy_that_approved_the_deploy(
    story: Any, sent: list, queued: list
) -> None:
    from governance.approvals.services.policies import DEFAULT_POLICIES, policy_create
    from tests.monitoring.conftest import train_and_deploy

    default = next(policy["spec"] for policy in DEFAULT_POLICIES if policy["name"] == "deploy-default")
    policy_create(  # at least as strict as deploy-default, so it is the one that applies (issue 14)
        actor=CHECKER,
        name="deploy-qa",
        spec={
            "kind": "deploy",
            "environment": "qa",
            "required_approvals": [{"role": "compliance_officer", "count": 1}],
            "approval_validity_seconds": 3600,
            "checks": default["checks"],
            "monitoring": {"psi": 50, "ks": 1, "prediction_psi": 50},
        },
    )
    deployment = train_and_deploy(story, sent, environment="qa")
    predict(story.requester, traffic(300, seed=41, spend_shift=12.0), environment="qa")
    check = _check(deployment)
    assert check.result["thresholds"]["psi"] == 50 and not check.alarm
