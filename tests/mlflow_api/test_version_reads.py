"""``model-versions/get`` reads with two fixed statements; what it answers is what the ORM rows render."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.actors import Actor
from governance.mlflow_api import render, selectors
from governance.mlflow_api.version_reads import mlflow_version_with_aliases
from registry.models import ModelVersion
from registry.services.aliases import alias_move
from registry.services.catalog import run_create

pytestmark = pytest.mark.django_db
API = "/api/2.0/mlflow"


def _post(client: APIClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{API}/{path}", body, format="json")
    assert response.status_code == 200, response.json()
    return dict(response.json())


def _versions_of_every_shape(client: APIClient, make_user: Any) -> None:
    """1: bare; 2: a known run, tags, description, stage Archived; 3: an alias a deploy job moved
    (``production``: stage Production) and an ungoverned one; 4: a run id no run has."""
    run = run_create(actor=Actor.for_user(make_user("dana")), run_id=uuid.uuid4())
    _post(client, "registered-models/create", {"name": "churn"})
    _post(client, "model-versions/create", {"name": "churn", "source": "s3://b/1"})
    _post(
        client,
        "model-versions/create",
        {
            "name": "churn",
            "source": "s3://b/2",
            "run_id": run.run_id.hex,
            "description": "second: ünïcode",
            "tags": [{"key": "team", "value": "risk"}, {"key": "a", "value": "1"}],
        },
    )
    body = {"name": "churn", "version": "2", "stage": "Archived", "archive_existing_versions": False}
    _post(client, "model-versions/transition-stage", body)
    _post(client, "model-versions/create", {"name": "churn", "source": "s3://b/3"})
    alias_move(
        actor=Actor.for_user(make_user("deployer")),
        model_version=ModelVersion.objects.get(version=3),
        alias="production",
        job_reference="job-7",
    )
    _post(client, "registered-models/alias", {"name": "churn", "alias": "candidate", "version": "3"})
    _post(client, "model-versions/create", {"name": "churn", "source": "s3://b/4", "run_id": "not-a-run"})


def test_get_answers_what_the_orm_rows_render(pipeline: APIClient, make_user: Any) -> None:
    _versions_of_every_shape(pipeline, make_user)
    for number in ("1", "2", "3", "4"):
        answered = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": number})
        assert answered.status_code == 200
        expected = render.version_json(selectors.mlflow_version_get(name="churn", version=number))
        assert answered.json()["model_version"] == expected
    third = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "3"}).json()
    assert third["model_version"]["current_stage"] == "Production"
    assert third["model_version"]["aliases"] == ["candidate", "production"]
    second = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "2"}).json()
    assert second["model_version"]["tags"] == [{"key": "a", "value": "1"}, {"key": "team", "value": "risk"}]
    assert second["model_version"]["current_stage"] == "Archived"


def test_get_is_two_statements_and_loads_nothing_more_to_render(pipeline: APIClient, make_user: Any) -> None:
    _versions_of_every_shape(pipeline, make_user)
    for number in ("1", "2", "3", "4"):
        with CaptureQueriesContext(connection) as captured:
            version, aliases = mlflow_version_with_aliases(name="churn", version=number)
            render.version_json(version, aliases=aliases)
        assert len(captured.captured_queries) == 2, [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("number", ["0", "-1", "5", "x", "2147483648", "99999999999999999999", "1.0"])
def test_a_version_that_is_not_there_is_mlflows_not_found(pipeline: APIClient, number: str) -> None:
    _post(pipeline, "registered-models/create", {"name": "churn"})
    _post(pipeline, "model-versions/create", {"name": "churn", "source": "s3://b/1"})
    response = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": number})
    assert response.status_code == 404
    assert response.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": f"Model Version (name=churn, version={number}) not found",
    }


def test_archived_versions_and_models_read_as_deleted(pipeline: APIClient) -> None:
    _post(pipeline, "registered-models/create", {"name": "churn"})
    _post(pipeline, "model-versions/create", {"name": "churn", "source": "s3://b/1"})
    _post(pipeline, "model-versions/create", {"name": "churn", "source": "s3://b/2"})
    body = {"name": "churn", "version": "1"}
    deleted = pipeline.delete(f"{API}/model-versions/delete", body, format="json")
    assert deleted.status_code == 200
    assert pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "1"}).status_code == 404
    assert pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "2"}).status_code == 200
    gone = pipeline.delete(f"{API}/registered-models/delete", {"name": "churn"}, format="json")
    assert gone.status_code == 200
    assert pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "2"}).status_code == 404


def test_a_version_sent_with_nothing_mlflow_only_has_no_mlflow_row_and_reads_the_same(
    pipeline: APIClient,
) -> None:
    from governance.mlflow_api.models import MlflowVersionInfo

    _post(pipeline, "registered-models/create", {"name": "churn"})
    created = _post(pipeline, "model-versions/create", {"name": "churn", "source": "s3://b/1"})
    tagged = _post(
        pipeline, "model-versions/create", {"name": "churn", "source": "s3://b/2", "description": "d"}
    )
    assert list(MlflowVersionInfo.objects.values_list("model_version__version", flat=True)) == [2]
    read = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "1"}).json()
    assert read["model_version"] == created["model_version"]
    assert created["model_version"]["current_stage"] == "None"
    assert (
        created["model_version"]["last_updated_timestamp"] == created["model_version"]["creation_timestamp"]
    )
    assert tagged["model_version"]["description"] == "d"
    # Its first MLflow-only change creates the row (audited as any change is).
    body = {"name": "churn", "version": "1", "key": "team", "value": "risk"}
    _post(pipeline, "model-versions/set-tag", body)
    again = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "1"}).json()
    assert again["model_version"]["tags"] == [{"key": "team", "value": "risk"}]
