"""The acceptance script (issue 8, acceptance 1): the stock MLflow client, nothing of ours.

``run_script`` returns what the client read back, without timestamps, so the same script run against
MLflow's own server (``mlflow server``) and against ours can be compared value for value; the answer
MLflow 3.17's server gave is kept in ``mlflow_server_answers.json`` (regenerate with
``MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python tests/mlflow_api/script.py``).
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

RUN_ID = "4f2a9c1e8b7d4a6f9e3c2b1a0d9e8f7a"


def _version(version: Any) -> dict[str, Any]:
    return {
        "name": version.name,
        "version": version.version,
        "current_stage": version.current_stage,
        "description": version.description,
        "source": version.source,
        "run_id": version.run_id,
        "status": version.status,
        "tags": dict(sorted(version.tags.items())),
        "aliases": sorted(version.aliases),
    }


def _model(model: Any) -> dict[str, Any]:
    return {
        "name": model.name,
        "description": model.description,
        "tags": dict(sorted(model.tags.items())),
        "aliases": dict(sorted(model.aliases.items())),
        "latest_versions": [_version(version) for version in model.latest_versions],
    }


def run_script(client: Any, name: str = "churn-mlflow") -> dict[str, Any]:
    from mlflow.exceptions import MlflowException

    out: dict[str, Any] = {}
    created = client.create_registered_model(
        name, tags={"team": "risk", "domain": "crm"}, description="churn"
    )
    out["create_model"] = _model(created)
    first = client.create_model_version(
        name, "s3://bucket/churn/1", run_id=RUN_ID, tags={"stage": "candidate"}
    )
    second = client.create_model_version(name, "s3://bucket/churn/2", description="second")
    out["create_versions"] = [_version(first), _version(second)]
    client.set_registered_model_tag(name, "owner", "crm-team")
    client.delete_registered_model_tag(name, "domain")
    client.set_model_version_tag(name, "2", "validated", "true")
    client.delete_model_version_tag(name, "1", "stage")
    client.update_model_version(name, "1", description="first, retrained")
    client.update_registered_model(name, description="churn, updated")
    out["get_model"] = _model(client.get_registered_model(name))
    out["get_version"] = _version(client.get_model_version(name, "2"))
    out["search_models_name"] = [m.name for m in client.search_registered_models(f"name = '{name}'")]
    out["search_models_like"] = [m.name for m in client.search_registered_models("name LIKE 'churn-%'")]
    out["search_models_tag"] = [m.name for m in client.search_registered_models("tag.team = 'risk'")]
    out["search_models_none"] = [m.name for m in client.search_registered_models("tag.team = 'nobody'")]
    out["search_versions_name"] = [
        _version(v) for v in client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])
    ]
    out["search_versions_run"] = [v.version for v in client.search_model_versions(f"run_id = '{RUN_ID}'")]
    out["search_versions_tag"] = [
        v.version for v in client.search_model_versions(f"name = '{name}' AND tag.validated = 'true'")
    ]
    client.set_registered_model_alias(name, "candidate", "2")
    out["by_alias"] = _version(client.get_model_version_by_alias(name, "candidate"))
    out["download_uri"] = client.get_model_version_download_uri(name, "1")
    with warnings.catch_warnings():  # stages are deprecated in MLflow, yet the call still works
        warnings.simplefilter("ignore", FutureWarning)
        out["latest"] = [_version(v) for v in client.get_latest_versions(name, stages=["None"])]
    client.delete_model_version(name, "1")
    try:
        client.get_model_version(name, "1")
    except MlflowException as exc:
        out["get_deleted"] = exc.error_code
    out["after_delete"] = [
        v.version for v in client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])
    ]
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        out["create_twice"] = exc.error_code
    try:
        client.get_registered_model("no-such-model")
    except MlflowException as exc:
        out["get_missing"] = exc.error_code
    return out


if __name__ == "__main__":
    from mlflow import MlflowClient

    json.dump(run_script(MlflowClient()), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
