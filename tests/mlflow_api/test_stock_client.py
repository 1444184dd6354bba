"""Issue 8 acceptance, with MLflow's stock client against a real server process of ours.

1. The acceptance script (``script.py``) gets the answers MLflow 3.17's own server gave the same script
   (``mlflow_server_answers.json``, recorded against ``mlflow server`` with a SQLite backend).
2. A governed alias is refused at once with ``PERMISSION_DENIED`` (one request, no retries); after the
   approved deploy of that version to production, the alias reads back through the client.
3. Each call is in the audit log, and the versions appear in the lineage report.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEntry
from governance.accounts import services as accounts
from governance.jobs.models import JobStatus
from governance.jobs.runner import run_release_job
from registry.models import ModelVersion
from registry.services.catalog import run_create
from tests.jobs import factories
from tests.mlflow_api.script import RUN_ID, run_script
from tests.support import child_env, free_port, running

pytest.importorskip("mlflow", reason="the stock client: pip install -e '.[dev]' (mlflow-skinny)")
pytestmark = pytest.mark.django_db(transaction=True)

HERE = Path(__file__).parent
WRITES = {
    "model.create",
    "model.update",
    "model.archive",
    "model_version.create",
    "model_version.update",
    "model_version.archive",
    "model.alias_move",
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / "server.log"
    command = [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"]
    with running(command, child_env(), log):
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)  # noqa: S310 (our own server)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(log.read_text()) from None
                time.sleep(0.2)
        yield url, log


def _client(url: str, user: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from mlflow import MlflowClient

    _, token = accounts.token_issue(actor=Actor.system("tests"), user=user, name="mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    return MlflowClient(tracking_uri=url, registry_uri=url)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    """Every HTTP request the client makes, as (method, endpoint, status)."""
    import requests

    made: list[tuple[str, str, int]] = []
    original = requests.Session.request

    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        response = original(self, method, url, *args, **kwargs)
        made.append((method, url.split("/api/2.0/mlflow/", 1)[-1], response.status_code))
        return response

    monkeypatch.setattr(requests.Session, "request", request)
    return made


def test_the_stock_client_gets_the_answers_mlflow_server_gives_and_each_call_is_audited(
    server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, calls: list[tuple[str, str, int]]
) -> None:
    from registry.reports.assemble import lineage_report_build

    url, _ = server
    robot = accounts.user_create(actor=Actor.system("tests"), username="robot", roles=["pipeline"])
    run = run_create(actor=Actor.for_user(robot), run_id=uuid.UUID(RUN_ID))
    answers = run_script(_client(url, robot, monkeypatch))
    assert answers == json.loads((HERE / "mlflow_server_answers.json").read_text())

    # 3. Each write is one audit entry (its registry action); reads are access-log lines, not entries.
    reads = [call for call in calls if call[0] == "GET" or call[1].endswith("get-latest-versions")]
    writes = [call for call in calls if call not in reads and call[2] == 200]
    entries = list(AuditEntry.objects.filter(actor_type="token").values_list("action", flat=True))
    assert len(reads) >= 14 and "mlflow.read" not in entries
    assert sum(1 for action in entries if action in WRITES) == len(writes) == 11
    assert [call for call in calls if call[0] != "GET" and call[2] != 200] == [
        ("POST", "registered-models/create", 400)  # the second create: refused, nothing changed
    ]
    # ... and the versions are in lineage: version 1 produced by the run, version 2 on its own.
    first = lineage_report_build(subject="model:churn-mlflow#1")
    assert {node["id"] for node in first["nodes"]} >= {run.node_id, "model:churn-mlflow#1"}
    second = lineage_report_build(subject="model:churn-mlflow#2")
    assert [model["node"] for model in second["models"]] == ["model:churn-mlflow#2"]
    assert "model_version.create" in {row["action"] for row in second["audit"]["entries"]}


def _run_released(requester: Any, release_id: int, sent: list[dict[str, Any]]) -> None:
    client = APIClient()
    client.force_authenticate(requester)
    assert client.post(f"/api/v1/releases/{release_id}/run").status_code == 201
    message = sent[-1]
    assert (
        run_release_job(job_id=message["job_id"], grant=message["grant"], worker="test")
        == JobStatus.SUCCEEDED
    )


def test_a_governed_alias_is_refused_at_once_and_reads_back_after_the_approved_deploy(
    server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, sent: list[dict[str, Any]]
) -> None:
    from mlflow.exceptions import RestException

    url, _ = server
    people = factories.people()
    dataset = factories.customers_dataset(people.requester, personal=False)  # no ledger rows to flush
    train = factories.train_request(people.requester, dataset)
    factories.sign(train, people.approver)
    _run_released(people.requester, train.pk, sent)
    version = ModelVersion.objects.get(model__name="churn")
    client = _client(url, people.requester, monkeypatch)

    started = time.monotonic()
    with pytest.raises(RestException) as refused:
        client.set_registered_model_alias("churn", "production", str(version.version))
    assert time.monotonic() - started < 2
    assert refused.value.error_code == "PERMISSION_DENIED"
    assert "kind=deploy, model=churn, version=1, environment=production" in refused.value.message
    assert AuditEntry.objects.filter(action="mlflow.refuse").count() == 1

    deploy = factories.deploy_request(people.requester, version.version, "production")
    factories.sign(deploy, people.approver, people.second_approver)  # production: two officers
    _run_released(people.requester, deploy.pk, sent)
    served = client.get_model_version_by_alias("churn", "production")
    assert (served.version, served.aliases, served.current_stage) == ("1", ["production"], "Production")
    assert served.source == version.artifact_uri
