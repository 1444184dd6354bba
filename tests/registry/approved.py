"""Approved deploy requests for registry tests that record deployments through the API."""

from __future__ import annotations

import secrets

from audit.actors import Actor
from governance.accounts.models import User
from governance.accounts.services import user_create
from governance.approvals.models import Policy
from governance.approvals.services.policies import policy_create
from governance.approvals.services.releases import release_create
from governance.approvals.services.signatures import release_sign

SYSTEM = Actor.system("tests")
_PASSWORD = secrets.token_urlsafe(16)


def _person(username: str, role: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(
            actor=SYSTEM, username=username, roles=[role], password=_PASSWORD, full_name=username
        )
    else:
        user.set_password(_PASSWORD)
        user.save(update_fields=["password"])
    return user


def approved_deploy(model: str, version: int, environment: str) -> int:
    """The id of an approved deploy request for ``model`` ``version`` to ``environment`` (one officer)."""
    if not Policy.objects.filter(name="registry-tests-deploy").exists():
        policy_create(
            actor=SYSTEM,
            name="registry-tests-deploy",
            spec={
                "kind": "deploy",
                "environment": "*",
                "risk_levels": ["*"],
                "checks": [],
                "required_approvals": [{"role": "compliance_officer", "count": 1}],
                "approval_validity_seconds": 86_400,
            },
        )
    requester = _person("deploy-requester", "data_scientist")
    officer = _person("deploy-officer", "compliance_officer")
    release = release_create(
        actor=Actor.for_user(requester),
        kind="deploy",
        model=model,
        version=version,
        environment=environment,
        policy="registry-tests-deploy",
    )
    release_sign(
        actor=Actor.for_user(officer), release=release, signer=officer, meaning="approved", password=_PASSWORD
    )
    return release.pk
