"""Forty wrong passwords sent at once to the service under gunicorn (worker processes, each with
threads): the signing lock-out hears at most the limit of them, the rest find signing locked, and the
right password afterwards is refused while it is locked. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from audit.models import AuditEntry
from governance.accounts import services as accounts
from governance.approvals.models import Signature, SigningFailure
from tests.approvals.factories import PASSWORD, SYSTEM, dataset_version, make_policy, train_request
from tests.support import child_env, free_port, running

pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 40


@contextmanager
def _gunicorn(log: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "governance.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "4", "--threads", "10", "--worker-class", "gthread"]
    url = f"http://127.0.0.1:{port}"
    with running(command, child_env(), log) as server:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not come up"
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2)  # noqa: S310 (the server we started)
                break
            except OSError:
                time.sleep(0.3)
        yield url


def _post(url: str, token: str, password: str, start: threading.Barrier | None = None) -> tuple[int, str]:
    body = json.dumps({"meaning": "approved", "password": password, "comment": "guess"}).encode()
    request = urllib.request.Request(  # noqa: S310 (the server we started)
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    if start is not None:
        start.wait(timeout=60)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return response.status, json.loads(response.read()).get("error", "")
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read()).get("error", "")


def test_forty_concurrent_wrong_passwords_are_heard_at_most_the_limit_and_then_signing_is_locked(
    requester: Any, approver: Any, settings: Any, tmp_path: Path
) -> None:
    limit = settings.SIGNING_MAX_FAILURES
    make_policy("train-default")
    release = train_request(requester, dataset_version(requester))
    _, token = accounts.token_issue(actor=SYSTEM, user=approver, name="guesser")
    start = threading.Barrier(ATTEMPTS)

    with _gunicorn(tmp_path / "gunicorn.log") as base:
        url = f"{base}/api/v1/releases/{release.pk}/signatures"
        with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
            answers = list(pool.map(lambda n: _post(url, token, f"wrong-guess-{n}", start), range(ATTEMPTS)))
        cache.clear()  # the per-user signing throttle (a shared file cache): the answer must be the lock's
        after = _post(url, token, PASSWORD)

    heard = [answer for answer in answers if answer == (403, "password_incorrect")]
    refused = [answer for answer in answers if answer == (423, "signing_locked") or answer[0] == 429]
    assert len(heard) == limit, answers
    assert len(heard) + len(refused) == ATTEMPTS, answers
    assert after == (423, "signing_locked")
    assert not Signature.objects.exists()
    assert SigningFailure.objects.filter(user=approver).count() == len(heard)
    assert AuditEntry.objects.filter(action="release.sign_failed").count() == len(heard)
    assert AuditEntry.objects.filter(action="release.signing_locked", target_id=str(approver.pk)).count() == 1
