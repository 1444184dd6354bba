"""``governance.core.raw_rows``: rows written and read with fixed statements are the ORM's rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import post_save, pre_save

from audit.actors import Actor
from governance.core.raw_rows import Columns, insert_row
from governance.mlflow_api.models import MlflowVersionInfo
from registry.models import ModelVersion, TrainingRun
from registry.services.catalog import model_create, run_create

pytestmark = pytest.mark.django_db


def test_nothing_listens_to_the_saves_insert_row_skips() -> None:
    for model in (ModelVersion, MlflowVersionInfo):
        assert not pre_save.has_listeners(model) and not post_save.has_listeners(model), model


def test_an_inserted_row_reads_back_through_the_orm_as_written(make_user: Any) -> None:
    model = model_create(actor=Actor.for_user(make_user("dana")), name="churn")
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    version = ModelVersion(
        model=model,
        version=1,
        artifact_uri="s3://b/1",
        parameters={"C": 0.5, "names": ["ä", "b"]},
        metrics={"auc": 0.91},
        input_schema=[{"name": "age", "type": "number"}],
        created_at=moment,
        created_by=make_user("eve"),
    )
    insert_row(version)
    assert version.pk is not None and not version._state.adding
    info = MlflowVersionInfo(model_version=version, tags={"team": "risk"}, updated_at=moment)
    insert_row(info)
    stored = ModelVersion.objects.select_related("mlflow_info").get(pk=version.pk)
    assert (stored.version, stored.artifact_uri, stored.created_at) == (1, "s3://b/1", moment)
    assert stored.parameters == {"C": 0.5, "names": ["ä", "b"]} and stored.metrics == {"auc": 0.91}
    assert stored.bias_examination == {} and stored.status == "registered"
    assert stored.mlflow_info.tags == {"team": "risk"} and stored.mlflow_info.updated_at == moment


def test_columns_convert_as_the_orm_does(make_user: Any) -> None:
    run = run_create(actor=Actor.for_user(make_user("dana")), run_id=uuid.uuid4())
    columns = Columns(TrainingRun, ("created_at", "id", "run_id", "parameters"))  # any order given
    assert columns.names == ("id", "run_id", "parameters", "created_at")  # the model's order
    with connection.cursor() as cursor:
        sql = f"SELECT {columns.select('t')} FROM {columns.table} t WHERE t.id = %s"  # noqa: S608
        cursor.execute(sql, [run.pk])
        loaded = columns.instance(cursor.fetchone())
    orm = TrainingRun.objects.get(pk=run.pk)
    assert (loaded.pk, loaded.run_id, loaded.parameters, loaded.created_at) == (
        orm.pk,
        orm.run_id,
        orm.parameters,
        orm.created_at,
    )
    assert isinstance(loaded.run_id, uuid.UUID) and loaded.created_at.tzinfo is not None
    assert loaded.get_deferred_fields() >= {"state", "facets"}  # not selected: read on first use
    assert loaded.state == orm.state
