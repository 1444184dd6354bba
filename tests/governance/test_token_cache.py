"""A verified token is remembered for API_TOKEN_CACHE_MILLISECONDS in the process that verified it (issue
18): a pipeline's calls cost no statement to authenticate, and nothing it does can outlive a revocation,
a role change or a deactivation by more than that time (in the process that made the change: not at all).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.actors import Actor
from governance.accounts import services
from governance.accounts.models import ApiToken

pytestmark = pytest.mark.django_db
ME = "/api/v1/me"


@pytest.fixture(autouse=True)
def _fresh_cache(settings: Any) -> None:
    from governance.accounts.token_cache import token_cache_clear

    settings.API_TOKEN_CACHE_MILLISECONDS = 1000
    token_cache_clear()


def _statements(client: Any) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        status = client.get(ME).status_code
    return status, len(captured.captured_queries)


def test_the_second_call_of_a_token_runs_no_statement_to_authenticate(token_client: Any) -> None:
    client, _ = token_client("robot", "pipeline")
    assert _statements(client) == (200, 1)  # the token, its user and roles: one statement
    assert _statements(client) == (200, 0)  # /me reads nothing more


def test_a_revocation_here_is_honoured_at_once(token_client: Any) -> None:
    client, user = token_client("robot", "pipeline")
    assert client.get(ME).status_code == 200
    services.token_revoke(actor=Actor.system("tests"), prefix=ApiToken.objects.get(user=user).prefix)
    answer = client.get(ME)
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_a_revocation_by_another_process_is_honoured_within_the_cache_time(
    token_client: Any, settings: Any
) -> None:
    settings.API_TOKEN_CACHE_MILLISECONDS = 300
    client, user = token_client("robot", "pipeline")
    assert client.get(ME).status_code == 200
    # Another process's revocation: a plain UPDATE, no signal reaches this process.
    ApiToken.objects.filter(user=user).update(revoked=True, revoked_at=timezone.now())
    assert client.get(ME).status_code == 200  # still remembered, for at most 300 ms
    time.sleep(0.35)
    assert client.get(ME).status_code == 401


def test_a_role_taken_away_or_a_user_deactivated_here_is_honoured_at_once(token_client: Any) -> None:
    client, user = token_client("robot", "pipeline", "data_scientist")
    assert client.get(ME).json()["roles"] == ["data_scientist", "pipeline"]
    user.groups.remove(Group.objects.get(name="data_scientist"))
    assert client.get(ME).json()["roles"] == ["pipeline"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get(ME).status_code == 401


def test_an_expired_token_is_refused_though_remembered(token_client: Any) -> None:
    client, _ = token_client("robot", "pipeline")
    assert client.get(ME).status_code == 200
    from governance.accounts.token_cache import _verified

    for _, token in _verified.values():  # as if the remembered token's expiry had just passed
        token.expiry_date = timezone.now()
    answer = client.get(ME)
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]


def test_a_wrong_key_with_a_remembered_tokens_prefix_is_refused(token_client: Any) -> None:
    client, _ = token_client("robot", "pipeline")
    assert client.get(ME).status_code == 200
    key = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key[:-1]}{'A' if key[-1] != 'A' else 'B'}")
    assert client.get(ME).status_code == 401


def test_what_a_request_sets_on_its_user_is_not_seen_by_the_next(token_client: Any) -> None:
    from governance.accounts.authentication import BearerTokenAuthentication
    from governance.accounts.token_cache import verified

    client, _ = token_client("robot", "pipeline")
    key = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    from governance.accounts.authentication import token_with_roles

    first = verified(key, token_with_roles)
    first.user.first_name = "changed by a request"
    second = verified(key, token_with_roles)
    assert second.user.first_name != "changed by a request"
    assert BearerTokenAuthentication.keyword == "bearer"


def test_with_the_cache_off_every_call_looks_the_token_up(token_client: Any, settings: Any) -> None:
    settings.API_TOKEN_CACHE_MILLISECONDS = 0
    client, _ = token_client("robot", "pipeline")
    assert _statements(client) == (200, 1)
    assert _statements(client) == (200, 1)


@pytest.mark.django_db(transaction=True)  # real commits: "after commit" runs at commit
def test_a_token_remembered_again_while_its_revocation_commits_is_forgotten_at_commit(
    token_client: Any,
) -> None:
    from django.db import transaction

    from governance.accounts import token_cache

    client, user = token_client("robot", "pipeline")
    assert client.get(ME).status_code == 200
    remembered = dict(token_cache._verified)
    with transaction.atomic():
        services.token_revoke(actor=Actor.system("tests"), prefix=ApiToken.objects.get(user=user).prefix)
        # Another thread of this process verifies the key before the revocation is committed: it still
        # reads the unrevoked row and remembers it again.
        token_cache._verified.update(remembered)
    answer = client.get(ME)
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
