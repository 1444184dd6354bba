from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from governance.accounts.models import User
from governance.core.roles import ROLE_PERMISSIONS, Role

pytestmark = pytest.mark.django_db


def test_each_role_group_exists_with_exactly_its_permissions() -> None:
    for role in Role:
        group = Group.objects.get(name=role.value)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert granted == ROLE_PERMISSIONS[role]


def test_adduser_records_the_user_and_its_roles_in_the_audit_log() -> None:
    call_command(
        "adduser", "kim", "--role", "auditor", "--password", "a long pass phrase 42", stdout=StringIO()
    )

    user = User.objects.get(username="kim")
    entry = AuditEntry.objects.filter(action="user.create").latest("index")

    assert user.role_names() == ["auditor"]
    assert user.is_staff is True
    assert user.check_password("a long pass phrase 42")
    assert entry.target_id == str(user.pk)
    assert entry.actor_type == "system"


def test_adduser_refuses_a_duplicate_and_a_weak_password_and_changes_nothing() -> None:
    call_command("adduser", "lee", "--role", "pipeline", stdout=StringIO())
    entries = AuditEntry.objects.count()

    with pytest.raises(CommandError, match="already exists"):
        call_command("adduser", "lee", "--role", "pipeline", stdout=StringIO())
    with pytest.raises(CommandError, match="password"):
        call_command("adduser", "max", "--role", "pipeline", "--password", "short", stdout=StringIO())

    assert AuditEntry.objects.count() == entries
    assert not User.objects.filter(username="max").exists()


def test_signing_in_and_a_failed_sign_in_are_audited_without_the_attempted_name(client, make_user) -> None:
    make_user("nia", "compliance_officer", password="correct horse battery 7")

    client.post("/accounts/login/", {"username": "nia", "password": "wrong password here"})
    client.post("/accounts/login/", {"username": "mistyped-secret-name", "password": "x"})
    client.post("/accounts/login/", {"username": "nia", "password": "correct horse battery 7"})

    actions = list(AuditEntry.objects.order_by("index").values_list("action", flat=True))
    texts = "".join(AuditEntry.objects.values_list("entry", flat=True))
    assert actions[-3:] == ["auth.login_failed", "auth.login_failed", "auth.login"]
    assert "mistyped-secret-name" not in texts
