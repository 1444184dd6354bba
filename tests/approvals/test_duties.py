"""Separation of duties over the whole evidence (issue 14): nobody signs a request for what they made:
not the requester, nor whoever created a pinned artifact, dataset version or run; a policy can bar the
model's owner and the human overseer too. The page says why a person may not sign."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from governance.approvals.duties import signer_exclusions
from governance.approvals.models import ReleaseRequest, Signature
from registry.models import TrainingRun
from tests.approvals.factories import (
    PASSWORD,
    client_for,
    dataset_version,
    make_policy,
    model_version,
    sign,
    train_request,
)

pytestmark = pytest.mark.django_db


def _deploy(client: Any, **fields: Any) -> Any:
    body = {"kind": "deploy", "model": "credit", "version": 1, "environment": "staging"}
    return client.post(
        "/api/v1/releases", {**body, "metric_thresholds": {"accuracy": 0.8}, **fields}, format="json"
    )


@pytest.fixture
def dual(make_user: Any) -> Any:
    """A person holding both roles: data scientist and compliance officer."""
    return make_user("dora", "data_scientist", "compliance_officer", password=PASSWORD, full_name="Dora Dual")


def test_it_refuses_the_uploader_approving_a_deploy_a_pipeline_filed(
    dual: Any, pipeline: Any, approver: Any
) -> None:
    make_policy("deploy-any", kind="deploy")
    model_version(dual, name="credit")
    filed = _deploy(client_for(pipeline))
    assert filed.status_code == 201, filed.json()
    release_id = filed.json()["id"]

    refused = sign(client_for(dual), release_id)
    allowed = sign(client_for(approver), release_id)

    assert refused.status_code == 403
    assert refused.json()["error"] == "excluded_signer"
    assert "registered model:credit#1" in refused.json()["detail"]
    assert allowed.status_code == 201
    assert [s.signer for s in Signature.objects.all()] == [approver]
    [entry] = AuditEntry.objects.filter(action="release.sign_refuse")
    assert json.loads(entry.entry)["data"]["code"] == "excluded_signer"
    assert ReleaseRequest.objects.get().status == "approved"


def test_the_people_who_made_the_training_data_and_its_runs_may_not_sign(
    requester: Any, dual: Any, make_user: Any, approver: Any
) -> None:
    make_policy("train-default")
    version = dataset_version(dual)
    starter = make_user("stan", "compliance_officer", password=PASSWORD, full_name="Stan Starter")
    run = TrainingRun.objects.create(started_by=starter, created_at=timezone.now())
    run.outputs.add(version)
    release = train_request(requester, version)

    excluded = signer_exclusions(release)

    assert excluded[requester.pk] == "made this request"
    assert "created dataset:warehouse:customers#v1" in excluded[dual.pk]
    assert f"started {run.node_id}" in excluded[starter.pk]
    assert approver.pk not in excluded
    for person in (dual, starter):
        assert sign(client_for(person), release.pk).status_code == 403
    assert not Signature.objects.exists()
    assert AuditEntry.objects.filter(action="release.sign_refuse").count() == 2


def test_the_run_that_trained_a_deployed_version_and_its_inputs_exclude_their_makers(
    requester: Any, dual: Any, make_user: Any, pipeline: Any
) -> None:
    make_policy("deploy-any", kind="deploy")
    trainer = make_user("tina", "compliance_officer", password=PASSWORD, full_name="Tina Trainer")
    data = dataset_version(dual)
    run = TrainingRun.objects.create(started_by=trainer, created_at=timezone.now())
    run.inputs.add(data)
    version = model_version(requester, name="credit")
    type(version).objects.filter(pk=version.pk).update(run=run)

    release = ReleaseRequest.objects.get(pk=_deploy(client_for(pipeline)).json()["id"])
    excluded = signer_exclusions(release)

    assert set(excluded) == {pipeline.pk, requester.pk, trainer.pk, dual.pk}
    assert "which trained it" in excluded[trainer.pk]


def test_a_policy_can_bar_the_models_owner_and_the_overseer(
    requester: Any, pipeline: Any, approver: Any, second_approver: Any
) -> None:
    make_policy("deploy-strict", kind="deploy", signer_exclusions=["model_owner", "human_overseer"])
    model_version(requester, name="credit")
    filed = _deploy(client_for(pipeline), human_overseer=approver.username)
    release = ReleaseRequest.objects.get(pk=filed.json()["id"])

    excluded = signer_exclusions(release)

    assert "owns model credit" in excluded[requester.pk]
    assert "human overseer" in excluded[approver.pk]
    refused = sign(client_for(approver), release.pk)
    assert refused.status_code == 403 and "you are the named human overseer" in refused.json()["detail"]
    assert sign(client_for(second_approver), release.pk).status_code == 201


def test_the_page_says_why_a_person_may_not_sign_and_offers_them_no_form(
    dual: Any, pipeline: Any, approver: Any
) -> None:
    make_policy("deploy-any", kind="deploy")
    model_version(dual, name="credit")
    release_id = _deploy(client_for(pipeline)).json()["id"]
    browser = Client()
    assert browser.login(username=dual.username, password=PASSWORD)

    page = browser.get(f"/approvals/{release_id}/").content.decode()

    assert 'id="excluded-signers"' in page
    assert "Dora Dual (dora): registered model:credit#1, the model version to deploy" in page
    assert "Nightly pipeline (robot): made this request" in page
    assert 'id="you-may-not-sign"' in page
    assert 'id="sign-form"' not in page
