"""Risk classification is a compliance decision (issue 14): only a compliance officer changes a model's
risk level, with a reason, audited; a release takes the highest level ever recorded for the model
unless an officer's reclassification lowered it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from audit.actors import Actor
from audit.models import AuditEntry
from governance.approvals.models import ReleaseRequest
from registry.models import RegisteredModel, RiskClassification
from registry.services.catalog import model_create
from tests.approvals.factories import PASSWORD, client_for, dataset_version, make_policy, train_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def credit(requester: Any) -> RegisteredModel:
    """A colleague's high-risk model, registered through the service."""
    return model_create(actor=Actor.for_user(requester), name="credit", risk_level="high")


def _data(action: str) -> list[dict[str, Any]]:
    return [json.loads(entry.entry)["data"] for entry in AuditEntry.objects.filter(action=action)]


@pytest.mark.parametrize(("start", "wanted"), [("high", "minimal"), ("unacceptable", "minimal")])
def test_it_refuses_a_data_scientist_lowering_a_colleagues_model(
    requester: Any, make_user: Any, start: str, wanted: str
) -> None:
    model_create(actor=Actor.for_user(requester), name="credit", risk_level=start)
    colleague = make_user("carl", "data_scientist", full_name="Carl Colleague")

    response = client_for(colleague).patch(
        "/api/v1/models/credit", {"risk_level": wanted, "reason": "looks harmless"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"] == "risk_level_officer_only"
    assert RegisteredModel.objects.get(name="credit").risk_level == start
    assert RiskClassification.objects.filter(reclassified=True).count() == 0
    assert _data("model.update") == []
    assert _data("model.risk_level_refuse") == [{"risk_level": {"current": start, "wanted": wanted}}]


def test_even_the_owner_and_a_pipeline_cannot_change_the_risk_level(
    requester: Any, pipeline: Any, credit: RegisteredModel
) -> None:
    for person in (requester, pipeline):
        response = client_for(person).patch("/api/v1/models/credit", {"risk_level": "limited"}, format="json")
        assert response.status_code == 403, response.json()
    assert RegisteredModel.objects.get(name="credit").risk_level == "high"
    assert len(_data("model.risk_level_refuse")) == 2


def test_an_officer_reclassifies_only_with_a_reason(approver: Any, credit: RegisteredModel) -> None:
    client = client_for(approver)

    bare = client.patch("/api/v1/models/credit", {"risk_level": "limited"}, format="json")
    other = client.patch("/api/v1/models/credit", {"description": "mine now"}, format="json")
    done = client.patch(
        "/api/v1/models/credit",
        {
            "risk_level": "limited",
            "reason": "scores only internal marketing lists (Annex III does not apply)",
        },
        format="json",
    )

    assert bare.status_code == 400 and "reason" in bare.json()["detail"]
    assert other.status_code == 403
    assert done.status_code == 200, done.json()
    assert done.json()["risk_level"] == "limited"
    row = RiskClassification.objects.get(reclassified=True)
    assert (row.previous_level, row.risk_level, row.decided_by) == ("high", "limited", approver)
    [entry] = _data("model.update")
    assert entry["risk_level"] == {"before": "high", "after": "limited"}
    assert entry["risk_classification"]["reason"].startswith("scores only internal")


def test_a_request_cannot_declare_less_than_the_highest_level_ever_recorded(requester: Any) -> None:
    make_policy("train-default")
    version = dataset_version(requester)
    model_create(actor=Actor.for_user(requester), name="credit", risk_level="minimal")
    # Filed as high once (a request may declare more than the model's level): that level is recorded.
    first = train_request(requester, version, model="credit", risk_level="high")

    lowered = client_for(requester).post(
        "/api/v1/releases",
        {
            "kind": "train",
            "model": "credit",
            "risk_level": "minimal",
            "datasets": [{"namespace": "warehouse", "name": "customers", "version": "v1"}],
            "parameters": {"target": "label"},
            "metric_thresholds": {"accuracy": 0.8},
        },
        format="json",
    )
    unsaid = train_request(requester, version, model="credit", risk_level="")

    assert first.risk_level == "high"
    assert lowered.status_code == 400
    assert lowered.json()["error"] == "risk_level_too_low"
    assert f"release request {first.pk}" in lowered.json()["detail"]
    assert unsaid.risk_level == "high"
    assert ReleaseRequest.objects.count() == 2
    assert _data("release.refuse")[0]["error"] == "risk_level_too_low"


def test_an_officers_reclassification_lowers_the_level_and_the_release_page_shows_why(
    requester: Any, approver: Any, credit: RegisteredModel
) -> None:
    make_policy("train-default")
    version = dataset_version(requester)
    before = train_request(requester, version, model="credit", risk_level="")
    client_for(approver).patch(
        "/api/v1/models/credit",
        {"risk_level": "limited", "reason": "no longer used for credit decisions"},
        format="json",
    )

    after = train_request(requester, version, model="credit", risk_level="")

    assert before.risk_level == "high" and before.risk_classification is None
    assert after.risk_level == "limited"
    assert after.risk_classification == RiskClassification.objects.get(reclassified=True)
    shown = client_for(approver).get(f"/api/v1/releases/{after.pk}").json()["risk_classification"]
    assert shown["previous_level"] == "high" and shown["reason"] == "no longer used for credit decisions"
    assert client_for(approver).get(f"/api/v1/releases/{before.pk}").json()["risk_classification"] is None
    browser = Client()
    assert browser.login(username=approver.username, password=PASSWORD)
    page = browser.get(f"/approvals/{after.pk}/").content.decode()
    assert "reclassified from high to <strong>limited</strong>" in page
    assert "no longer used for credit decisions" in page
    model_page = browser.get("/models/credit/").content.decode()
    assert "reclassified from high by compliance officer Olivia Officer" in model_page
