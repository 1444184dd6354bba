"""An administrator lifts a person's sign-in and signing lock-outs: one action, one audit entry; nobody
else can."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client

from audit.actors import Actor
from audit.models import AuditEntry
from governance.accounts import lockouts
from governance.core.errors import PermissionRefused

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery 7"


def _lock_everything(person: Any, settings: Any) -> None:
    for n in range(5):
        Client().post("/accounts/login/", {"username": person.username, "password": f"guess {n}"})
    for _ in range(settings.SIGNING_MAX_FAILURES):
        with transaction.atomic():
            lockouts.signing_attempt_decide(user=person, password_ok=False)
    assert lockouts.signing_locked_until(person) is not None


def _locked_out_of_sign_in(person: Any) -> bool:
    answer = Client().post("/accounts/login/", {"username": person.username, "password": PASSWORD})
    return bool(answer.status_code == 429)


def test_an_admin_unlocks_a_person_in_the_admin_site_with_one_audit_entry(
    client: Client, make_user: Any, settings: Any
) -> None:
    admin = make_user("root", "admin", password="admin pass phrase 123")
    person = make_user("nia", "compliance_officer", password=PASSWORD)
    _lock_everything(person, settings)
    assert _locked_out_of_sign_in(person)
    client.force_login(admin)

    response = client.post(
        "/admin/accounts/user/", {"action": "unlock", "_selected_action": [str(person.pk)]}, follow=True
    )

    assert response.status_code == 200
    assert [str(message) for message in response.context["messages"]] == ["nia: sign-in and signing unlocked"]
    entry = AuditEntry.objects.get(action="user.unlock")
    assert entry.target_id == str(person.pk)
    assert entry.actor_type == "user" and entry.actor_id == str(admin.pk)
    assert '"login_attempts_cleared":5' in entry.entry
    assert lockouts.signing_locked_until(person) is None
    assert not _locked_out_of_sign_in(person)


def test_an_auditor_in_the_admin_site_cannot_unlock(client: Client, make_user: Any, settings: Any) -> None:
    auditor = make_user("aud", "auditor", password="auditor pass phrase 1")
    person = make_user("nia", "compliance_officer", password=PASSWORD)
    _lock_everything(person, settings)
    client.force_login(auditor)

    response = client.post(
        "/admin/accounts/user/", {"action": "unlock", "_selected_action": [str(person.pk)]}
    )

    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="user.unlock").exists()
    assert lockouts.signing_locked_until(person) is not None
    assert _locked_out_of_sign_in(person)


def test_the_service_refuses_anyone_but_an_administrator(make_user: Any, settings: Any) -> None:
    officer = make_user("olivia", "compliance_officer")
    person = make_user("nia", "compliance_officer", password=PASSWORD)
    _lock_everything(person, settings)

    with pytest.raises(PermissionRefused):
        lockouts.user_unlock(actor=Actor.for_user(officer), user=person, by=officer)

    assert not AuditEntry.objects.filter(action="user.unlock").exists()
    assert lockouts.signing_locked_until(person) is not None


def test_unlockuser_lifts_both_locks_and_refuses_when_nothing_is_locked(
    make_user: Any, settings: Any
) -> None:
    person = make_user("nia", "compliance_officer", password=PASSWORD)
    _lock_everything(person, settings)
    out = StringIO()

    call_command("unlockuser", "nia", stdout=out)

    assert "unlocked nia: 5 failed sign-in(s) cleared, signing was locked until" in out.getvalue()
    assert AuditEntry.objects.filter(action="user.unlock", actor_type="system").count() == 1
    assert not _locked_out_of_sign_in(person)
    with pytest.raises(CommandError, match="no failed sign-ins"):
        call_command("unlockuser", "nia", stdout=StringIO())
    assert AuditEntry.objects.filter(action="user.unlock").count() == 1
