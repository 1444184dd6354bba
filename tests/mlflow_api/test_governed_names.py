"""Every governed name is governed (issue 14): production, staging, champion and every name a deploy
policy adds, as an alias or as MLflow's stage, in any spelling, through any way in, need the release.

Each refusal fails closed: 403 (MLflow's error shape on the MLflow API), nothing changed, an audit entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEntry
from governance.approvals.services.policies import policy_create
from governance.core.errors import PermissionRefused
from registry.models import ModelAlias, ModelVersion, RegisteredModel
from registry.selectors.aliases import governed_names, name_governed
from registry.services.aliases import alias_move, alias_remove

pytestmark = pytest.mark.django_db
API = "/api/2.0/mlflow"


@pytest.fixture
def pipeline(token_client: Any, settings: Any, tmp_path: Path) -> APIClient:
    settings.MEDIA_ROOT = tmp_path / "media"
    client, _ = token_client("nightly", "pipeline")
    for name in ("churn", "fraud"):
        assert (
            client.post(f"{API}/registered-models/create", {"name": name}, format="json").status_code == 200
        )
        body = {"name": name, "source": "s3://bucket/m"}
        assert client.post(f"{API}/model-versions/create", body, format="json").status_code == 200
    return client


def _count(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


def _deploy_policy(environment: str) -> None:
    policy_create(
        actor=Actor.system("tests"),
        name=f"deploy-{environment.lower()}",
        spec={
            "kind": "deploy",
            "environment": environment,
            "required_approvals": [{"role": "compliance_officer", "count": 1}],
            "approval_validity_seconds": 3600,
        },
    )


def _released_alias(alias: str, make_user: Any, model: str = "churn") -> ModelAlias:
    """An alias as the deploy job of an approved release leaves it (the job's reference recorded)."""
    version = ModelVersion.objects.get(model__name=model, version=1)
    return alias_move(
        actor=Actor.for_user(make_user("deployer")), model_version=version, alias=alias, job_reference="job-7"
    )


def _refused(response: Any) -> str:
    assert response.status_code == 403, response.content
    body = response.json()
    assert set(body) == {"error_code", "message"} and body["error_code"] == "PERMISSION_DENIED"
    return str(body["message"])


@pytest.mark.parametrize("alias", ["staging", "Staging", "PRODUCTION", "champion", "canary", "CANARY"])
def test_it_refuses_setting_any_governed_alias_through_mlflow(pipeline: APIClient, alias: str) -> None:
    _deploy_policy("Canary")
    refusals = _count("mlflow.refuse")

    response = pipeline.post(
        f"{API}/registered-models/alias", {"name": "churn", "alias": alias, "version": "1"}, format="json"
    )

    assert f"kind=deploy, model=churn, version=1, environment={alias}" in _refused(response)
    assert not ModelAlias.objects.exists()
    assert _count("mlflow.refuse") == refusals + 1
    assert _count("model.alias_move") == 0


def test_it_refuses_the_staging_alias_so_no_version_reads_staging(pipeline: APIClient) -> None:
    body = {"name": "churn", "alias": "staging", "version": "1"}
    _refused(pipeline.post(f"{API}/registered-models/alias", body, format="json"))

    read = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "1"}).json()
    assert read["model_version"]["current_stage"] == "None"
    assert "aliases" not in read["model_version"]
    latest = pipeline.get(
        f"{API}/registered-models/get-latest-versions", {"name": "churn", "stages": "Staging"}
    )
    assert latest.json() == {}


@pytest.mark.parametrize("stage", ["Staging", "staging", "Production", "PRODUCTION"])
def test_it_refuses_a_transition_to_a_release_stage_and_changes_nothing(
    pipeline: APIClient, stage: str
) -> None:
    updates = _count("model_version.update")
    body = {"name": "churn", "version": "1", "stage": stage, "archive_existing_versions": False}

    message = _refused(pipeline.post(f"{API}/model-versions/transition-stage", body, format="json"))

    assert f"environment={stage.lower()}" in message
    assert _count("model_version.update") == updates
    assert _count("mlflow.refuse") == 1
    read = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "1"}).json()
    assert read["model_version"]["current_stage"] == "None"


def test_a_stage_a_deploy_policy_names_is_governed_too(pipeline: APIClient) -> None:
    _deploy_policy("archived")  # an environment spelled like MLflow's Archived stage
    body = {"name": "churn", "version": "1", "stage": "Archived", "archive_existing_versions": False}

    _refused(pipeline.post(f"{API}/model-versions/transition-stage", body, format="json"))

    assert _count("model_version.update") == 0


def test_it_refuses_deleting_a_released_alias_and_keeps_it(pipeline: APIClient, make_user: Any) -> None:
    _released_alias("staging", make_user)

    response = pipeline.delete(
        f"{API}/registered-models/alias", {"name": "churn", "alias": "staging"}, format="json"
    )

    assert "deployment" in _refused(response)
    assert ModelAlias.objects.filter(alias="staging").exists()
    assert _count("mlflow.refuse") == 1
    read = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "1"}).json()
    assert read["model_version"]["current_stage"] == "Staging"  # moved under a release: the stage shows


@pytest.mark.parametrize(
    ("method", "endpoint", "body"),
    [
        ("delete", "model-versions/delete", {"name": "churn", "version": "1"}),
        ("delete", "registered-models/delete", {"name": "churn"}),
    ],
)
def test_it_refuses_deleting_what_a_released_alias_points_at(
    pipeline: APIClient, make_user: Any, method: str, endpoint: str, body: dict[str, str]
) -> None:
    _released_alias("Staging", make_user)

    _refused(getattr(pipeline, method)(f"{API}/{endpoint}", body, format="json"))

    assert ModelVersion.objects.get(model__name="churn").archived_at is None
    assert RegisteredModel.objects.get(name="churn").archived_at is None
    assert _count("mlflow.refuse") == 1 and _count("model_version.archive") == _count("model.archive") == 0


def test_an_alias_a_release_moved_is_governed_for_that_model_only(
    pipeline: APIClient, make_user: Any
) -> None:
    _released_alias("blue", make_user)

    assert name_governed(model=RegisteredModel.objects.get(name="churn"), name="BLUE")
    assert not name_governed(model=RegisteredModel.objects.get(name="fraud"), name="blue")
    body = {"name": "fraud", "alias": "blue", "version": "1"}
    assert pipeline.post(f"{API}/registered-models/alias", body, format="json").status_code == 200


def test_a_staging_alias_set_before_the_name_was_governed_gives_no_stage(
    pipeline: APIClient, make_user: Any
) -> None:
    # A row the MLflow API wrote before staging was governed: no job reference, so no release behind it.
    version = ModelVersion.objects.get(model__name="churn")
    ModelAlias.objects.create(
        model=version.model,
        alias="staging",
        version=version,
        moved_by=make_user("old"),
        moved_at=version.created_at,
    )

    read = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "1"}).json()

    assert read["model_version"]["current_stage"] == "None"
    assert read["model_version"]["aliases"] == ["staging"]
    model = pipeline.get(f"{API}/registered-models/get", {"name": "churn"}).json()["registered_model"]
    assert [v["current_stage"] for v in model["latest_versions"]] == ["None"]


def test_the_alias_service_refuses_a_governed_name_without_a_release(
    pipeline: APIClient, make_user: Any
) -> None:
    _deploy_policy("canary")
    actor = Actor.for_user(make_user("someone"))
    version = ModelVersion.objects.get(model__name="churn")

    for name in ("Staging", "production", "Champion", "canary"):
        with pytest.raises(PermissionRefused) as refused:
            alias_move(actor=actor, model_version=version, alias=name)
        assert refused.value.code == "governed_alias"
    _released_alias("staging", make_user)
    with pytest.raises(PermissionRefused):
        alias_remove(actor=actor, model=version.model, alias="staging")

    assert list(ModelAlias.objects.values_list("alias", flat=True)) == ["staging"]
    assert _count("model.alias_move") == 1  # the released move only


def test_the_governed_names_are_one_list_for_aliases_and_stages(pipeline: APIClient) -> None:
    _deploy_policy("eu-prod")

    assert governed_names() >= {"production", "staging", "champion", "eu-prod"}
    assert name_governed(model=RegisteredModel.objects.get(name="churn"), name="EU-Prod")


def test_aliases_are_read_only_in_the_admin_site(make_user: Any, pipeline: APIClient) -> None:
    from governance.accounts.models import User

    row = _released_alias("production", make_user)
    root = User.objects.create_superuser(username="root", password="root pass phrase 123")
    client = Client()
    client.force_login(root)
    other = ModelVersion.objects.get(model__name="fraud")

    listing = client.get("/admin/registry/modelalias/")
    change = client.post(
        f"/admin/registry/modelalias/{row.pk}/change/",
        {"model": other.model_id, "alias": "production", "version": other.pk},
    )
    add = client.post(
        "/admin/registry/modelalias/add/", {"model": other.model_id, "alias": "staging", "version": other.pk}
    )
    delete = client.post(f"/admin/registry/modelalias/{row.pk}/delete/", {"post": "yes"})

    assert listing.status_code == 200 and b"production" in listing.content
    assert (change.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    assert list(ModelAlias.objects.values_list("alias", "version_id")) == [("production", row.version_id)]
    assert not AuditEntry.objects.filter(action__startswith="admin.").exists()
