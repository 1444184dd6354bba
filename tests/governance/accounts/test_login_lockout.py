"""Sign-in lock-out for the HTML and the admin login (django-axes), per name and per address; failed
sign-ins audited in aggregate; API tokens unaffected."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from governance.accounts.login_lockout import login_failure_count, username_subject
from governance.core.pseudonyms import keyed_hash

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery 7"
ATTACKER = "10.0.0.66"
ELSEWHERE = "10.0.0.7"


def _sign_in(
    client: Client, path: str, username: str, password: str, address: str = ATTACKER, **extra: Any
) -> Any:
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _data(entry: AuditEntry) -> dict[str, Any]:
    return dict(json.loads(entry.entry)["data"])


def _failure_entries() -> int:
    return AuditEntry.objects.filter(action__in=["auth.login_failed", "auth.login_locked_out"]).count()


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_thirty_wrong_passwords_then_the_right_one_does_not_sign_in(
    path: str, client: Client, make_user: Any
) -> None:
    make_user("nia", "admin", password=PASSWORD)

    wrong = [_sign_in(client, path, "nia", f"guess number {n}").status_code for n in range(30)]
    right = _sign_in(client, path, "nia", PASSWORD)

    assert wrong[:4] == [200] * 4  # the form again, "didn't match"
    assert set(wrong[4:]) == {429}  # the fifth locks, and is told so
    assert right.status_code == 429
    assert "Sign-in locked" in right.content.decode()
    assert right["Retry-After"].isdigit()
    assert not _signed_in(client)
    assert not AuditEntry.objects.filter(action="auth.login").exists()


def test_a_client_asking_for_json_gets_the_error_code_and_when_it_unlocks(
    client: Client, make_user: Any
) -> None:
    make_user("nia", "compliance_officer", password=PASSWORD)
    for n in range(5):
        _sign_in(client, "/accounts/login/", "nia", f"guess number {n}")

    locked = _sign_in(client, "/accounts/login/", "nia", PASSWORD, HTTP_ACCEPT="application/json")

    assert locked.status_code == 429
    assert locked.json()["error"] == "login_locked"
    assert "locked until" in locked.json()["detail"]


def test_the_locked_name_is_locked_from_every_address_and_the_locked_address_for_every_name(
    client: Client, make_user: Any
) -> None:
    make_user("nia", "compliance_officer", password=PASSWORD)
    make_user("oli", "compliance_officer", password=PASSWORD)
    for n in range(5):
        _sign_in(client, "/accounts/login/", "nia", f"guess number {n}")

    same_name_elsewhere = _sign_in(Client(), "/accounts/login/", "nia", PASSWORD, address=ELSEWHERE)
    other_name_same_address = _sign_in(Client(), "/accounts/login/", "oli", PASSWORD, address=ATTACKER)
    bystander = Client()
    other_name_elsewhere = _sign_in(bystander, "/accounts/login/", "oli", PASSWORD, address=ELSEWHERE)

    assert same_name_elsewhere.status_code == 429
    assert other_name_same_address.status_code == 429
    assert other_name_elsewhere.status_code == 302
    assert _signed_in(bystander)


def test_with_lockout_by_name_only_another_person_at_the_same_address_signs_in(
    client: Client, make_user: Any, settings: Any
) -> None:
    settings.AXES_LOCKOUT_PARAMETERS = ["username"]
    make_user("nia", "compliance_officer", password=PASSWORD)
    make_user("oli", "compliance_officer", password=PASSWORD)
    for n in range(5):
        _sign_in(client, "/accounts/login/", "nia", f"guess number {n}")

    assert _sign_in(Client(), "/accounts/login/", "oli", PASSWORD).status_code == 302
    assert _sign_in(Client(), "/accounts/login/", "nia", PASSWORD, address=ELSEWHERE).status_code == 429


def test_a_right_password_before_the_limit_signs_in_and_clears_the_count(
    client: Client, make_user: Any
) -> None:
    make_user("nia", "compliance_officer", password=PASSWORD)
    for n in range(4):
        _sign_in(client, "/accounts/login/", "nia", f"guess number {n}")

    assert _sign_in(client, "/accounts/login/", "nia", PASSWORD).status_code == 302
    client.logout()
    for n in range(4):
        assert (
            _sign_in(Client(), "/accounts/login/", "nia", f"again {n}", address=ELSEWHERE).status_code == 200
        )
    assert _sign_in(Client(), "/accounts/login/", "nia", PASSWORD, address=ELSEWHERE).status_code == 302


def test_api_tokens_keep_working_for_a_person_whose_sign_in_is_locked(
    client: Client, token_client: Any
) -> None:
    api, person = token_client("nia", "compliance_officer")
    for n in range(10):
        _sign_in(client, "/accounts/login/", person.username, f"guess number {n}", address="127.0.0.1")

    assert (
        _sign_in(Client(), "/accounts/login/", person.username, "x", address="127.0.0.1").status_code == 429
    )
    assert api.get("/api/v1/me").status_code == 200


def test_a_thousand_wrong_passwords_append_a_handful_of_entries_and_the_lockout(
    client: Client, make_user: Any
) -> None:
    make_user("nia", "compliance_officer", password=PASSWORD)
    before = _failure_entries()

    for n in range(1000):
        _sign_in(client, "/accounts/login/", "nia", f"guess number {n}")

    entries = AuditEntry.objects.filter(action__in=["auth.login_failed", "auth.login_locked_out"])
    assert _failure_entries() - before <= 6
    failed = [_data(entry) for entry in entries.filter(action="auth.login_failed").order_by("index")]
    assert [data["failures"] for data in failed] == [1, 10, 100, 1000]
    locks = entries.filter(action="auth.login_locked_out")
    assert {(entry.target_type, _data(entry)["by"]) for entry in locks} == {
        ("username", "username"),
        ("address", "ip_address"),
    }
    assert all(_data(entry)["failures"] == 5 for entry in locks)
    assert entries.filter(target_id=keyed_hash("nia", domain="username")).count() == 5
    assert "nia" not in "".join(entries.values_list("entry", flat=True))


def test_a_thousand_names_tried_from_one_address_append_a_handful_of_entries(
    client: Client, db: None
) -> None:
    before = _failure_entries()

    for n in range(1000):
        _sign_in(client, "/accounts/login/", f"name-{n}", "whatever")

    # Five names heard (one entry each), the address's lock-out, then the refused ones counted against
    # the address: 1, 10, 100.
    assert _failure_entries() - before <= 10
    assert AuditEntry.objects.filter(action="auth.login_locked_out", target_type="address").count() == 1


def test_every_lockout_is_audited_once_with_its_count(client: Client, make_user: Any, settings: Any) -> None:
    settings.AXES_LOCKOUT_PARAMETERS = ["username"]
    make_user("nia", "compliance_officer", password=PASSWORD)

    for n in range(7):
        _sign_in(client, "/accounts/login/", "nia", f"guess number {n}")

    lock = AuditEntry.objects.get(action="auth.login_locked_out")
    assert lock.target_type == "username"
    assert lock.target_id == keyed_hash("nia", domain="username")
    assert lock.actor_type == "anonymous"
    assert _data(lock)["failures"] == 5
    assert _data(lock)["locked_until"]


def test_the_next_window_reports_the_failures_the_last_one_did_not(db: None, settings: Any) -> None:
    start = timezone.now()
    subject = username_subject("nia")
    for n in range(3):
        login_failure_count(subject=subject, now=start + timedelta(seconds=n))

    login_failure_count(subject=subject, now=start + settings.AXES_COOLOFF_TIME + timedelta(seconds=5))

    entries = [
        _data(entry) for entry in AuditEntry.objects.filter(action="auth.login_failed").order_by("index")
    ]
    assert [entry["failures"] for entry in entries] == [1, 1]
    assert entries[1]["previous_window"] == {"since": start.isoformat(), "failures": 3}


def test_behind_a_trusted_proxy_the_address_the_proxy_appended_is_counted_not_a_forged_one(
    client: Client, make_user: Any, settings: Any
) -> None:
    settings.TRUST_PROXY_HEADERS = True
    proxy = "10.0.0.1"
    make_user("oli", "compliance_officer", password=PASSWORD)
    for n in range(5):
        # The caller forges a different first entry each time; the proxy appends the real address.
        _sign_in(
            client,
            "/accounts/login/",
            f"name-{n}",
            "x",
            address=proxy,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}",
        )

    from_the_attacker = _sign_in(
        Client(), "/accounts/login/", "oli", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR=ATTACKER
    )
    from_someone_else = _sign_in(
        Client(), "/accounts/login/", "oli", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE
    )

    assert from_the_attacker.status_code == 429
    assert from_someone_else.status_code == 302


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client: Client, make_user: Any) -> None:
    make_user("oli", "compliance_officer", password=PASSWORD)
    for n in range(5):
        _sign_in(client, "/accounts/login/", f"name-{n}", "x", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    assert (
        _sign_in(Client(), "/accounts/login/", "oli", PASSWORD, HTTP_X_FORWARDED_FOR=ELSEWHERE).status_code
        == 429
    )
