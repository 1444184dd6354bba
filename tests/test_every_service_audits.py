"""One action, one audit entry: every mutating service writes exactly one entry naming its action."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.actors import Actor
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests")


def _user_create(make_user: Any, tmp_path: Path) -> str:
    from governance.accounts import services

    services.user_create(actor=ACTOR, username="svc-new", roles=["auditor"], full_name="New Person")
    return "user.create"


def _user_set_roles(make_user: Any, tmp_path: Path) -> str:
    from governance.accounts import services

    services.user_set_roles(actor=ACTOR, user=make_user("svc-roles", "pipeline"), roles=["auditor"])
    return "user.roles_change"


def _token_issue(make_user: Any, tmp_path: Path) -> str:
    from governance.accounts import services

    services.token_issue(actor=ACTOR, user=make_user("svc-token", "pipeline"), name="t")
    return "token.issue"


def _token_revoke(make_user: Any, tmp_path: Path) -> str:
    from governance.accounts import services
    from governance.accounts.models import ApiToken

    user = make_user("svc-revoke", "pipeline")
    services.token_issue(actor=ACTOR, user=user, name="t")
    services.token_revoke(actor=ACTOR, prefix=ApiToken.objects.get(user=user).prefix)
    return "token.revoke"


def _audit_export(make_user: Any, tmp_path: Path) -> str:
    from audit.exporting import audit_export

    audit_export(actor=ACTOR, out=tmp_path / "bundle.zip")
    return "audit.export"


def _actor_for(make_user: Any, username: str) -> Actor:
    return Actor.for_user(make_user(username, "data_scientist", full_name="Dana Scientist"))


def _model(make_user: Any) -> Any:
    from registry.services import catalog

    return catalog.model_create(actor=_actor_for(make_user, "svc-owner"), name="svc-model", risk_level="high")


def _model_create(make_user: Any, tmp_path: Path) -> str:
    _model(make_user)
    return "model.create"


def _model_update(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    catalog.model_update(actor=ACTOR, model=_model(make_user), changes={"description": "now described"})
    return "model.update"


def _model_archive(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    catalog.model_archive(actor=ACTOR, model=_model(make_user))
    return "model.archive"


def _model_version_create(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    model = _model(make_user)
    catalog.model_version_create(
        actor=_actor_for(make_user, "svc-ds"),
        model=model,
        artifact_uri="s3://b/m.pkl",
        artifact_sha256="a" * 64,
        artifact_size=3,
    )
    return "model_version.create"


def _dataset_create(make_user: Any, tmp_path: Path) -> str:
    from registry.services import datasets

    datasets.dataset_create(actor=_actor_for(make_user, "svc-ds"), name="svc-data")
    return "dataset.create"


def _dataset_version_create(make_user: Any, tmp_path: Path) -> str:
    from registry.services import datasets

    actor = _actor_for(make_user, "svc-ds")
    dataset = datasets.dataset_create(actor=actor, name="svc-data")
    datasets.dataset_version_create(
        actor=actor, dataset=dataset, version="v1", uri="s3://b/d.csv", sha256="b" * 64
    )
    return "dataset_version.create"


def _run_create(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog

    catalog.run_create(actor=_actor_for(make_user, "svc-ds"), code_version="git:1")
    return "run.create"


def _deployment_create(make_user: Any, tmp_path: Path) -> str:
    from registry.services import catalog, deployments

    actor = _actor_for(make_user, "svc-ds")
    version = catalog.model_version_create(
        actor=actor,
        model=_model(make_user),
        artifact_uri="s3://b/m.pkl",
        artifact_sha256="a" * 64,
        artifact_size=3,
    )
    deployments.deployment_create(actor=actor, model_version=version, environment="staging", endpoint="/p")
    return "deployment.create"


def _deployment_end(make_user: Any, tmp_path: Path) -> str:
    from registry.models import Deployment
    from registry.services import deployments

    _deployment_create(make_user, tmp_path)
    deployments.deployment_end(actor=ACTOR, deployment=Deployment.objects.get())
    return "deployment.end"


SERVICES: list[Callable[[Any, Path], str]] = [
    _model_create,
    _model_update,
    _model_archive,
    _model_version_create,
    _dataset_create,
    _dataset_version_create,
    _run_create,
    _deployment_create,
    _deployment_end,
    _user_create,
    _user_set_roles,
    _token_issue,
    _token_revoke,
    _audit_export,
]


@pytest.mark.parametrize("call", SERVICES, ids=lambda call: call.__name__.strip("_"))
def test_the_service_writes_exactly_one_entry_for_its_action(
    call: Callable[[Any, Path], str], make_user, tmp_path
) -> None:
    make_user("svc-warmup", "pipeline")
    before = AuditEntry.objects.count()

    action = call(make_user, tmp_path)

    new = list(AuditEntry.objects.filter(index__gte=before).values_list("action", flat=True))
    assert new.count(action) == 1
    # Set-up steps write their own entries; the service under test writes exactly one of its own.
    setup = {
        "user.create",
        "token.issue",
        "model.create",
        "model_version.create",
        "dataset.create",
        "deployment.create",
    }
    assert set(new) - setup <= {action}
