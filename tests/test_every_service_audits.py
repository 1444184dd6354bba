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


SERVICES: list[Callable[[Any, Path], str]] = [
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
    assert set(new) - {"user.create", "token.issue"} <= {action}
