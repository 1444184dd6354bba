"""Webhook notifications: a receiver can check the HMAC signature; a failing receiver is retried with
exponential backoff and the failures are visible (issue 7, acceptance 3). The receiver is a real HTTP
server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from audit.actors import Actor
from audit.models import AuditEntry
from governance.monitoring import notify, tasks
from governance.monitoring.models import DeliveryStatus, WebhookDelivery
from governance.monitoring.services import drift_check_run
from tests.monitoring.conftest import client_for, predict, traffic

pytestmark = pytest.mark.django_db
SECRET = "receiver-shared-secret"


class Receiver:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[bytes, str, bool]] = []  # body, signature header, valid?


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[tuple[Receiver, str]]:
    state = Receiver(failures=request.param)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            header = self.headers.get("X-Governance-Signature", "")
            # What a receiver does, with nothing of ours: HMAC-SHA256 of the raw body, constant-time compare.
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            state.received.append((body, header, hmac.compare_digest(expected, header)))
            failing = len(state.received) <= state.failures
            self.send_response(503 if failing else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks/drift"
    finally:
        server.shutdown()
        server.server_close()


def _alarm(story: Any, deployed: Any, settings: Any, url: str, capture: Any) -> WebhookDelivery:
    settings.MONITORING_WEBHOOK_URLS = [url]
    settings.MONITORING_WEBHOOK_SECRET = SECRET
    settings.MONITORING_WEBHOOK_BACKOFF_SECONDS = 5
    settings.MONITORING_WEBHOOK_MAX_ATTEMPTS = 4
    predict(story.requester, traffic(300, seed=31, spend_shift=12.0))
    with capture(execute=True):
        check = drift_check_run(deployment=deployed, actor=Actor.system("tests"))
    assert check.alarm
    return WebhookDelivery.objects.get(drift_check=check)


@pytest.mark.parametrize("receiver", [0], indirect=True)
def test_a_receiver_can_check_the_hmac_signature_of_the_body(
    story: Any,
    deployed: Any,
    settings: Any,
    receiver: Any,
    queued: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    state, url = receiver
    delivery = _alarm(story, deployed, settings, url, django_capture_on_commit_callbacks)
    assert ("monitoring.webhook_deliver", {"delivery_id": delivery.pk}) in queued
    tasks.webhook_deliver.apply(kwargs={"delivery_id": delivery.pk})
    body, header, valid = state.received[0]
    assert valid and header.startswith("sha256=")
    assert b'"event":"drift.alarm"' in body and b"monthly_spend" in body
    assert not notify.signature_valid(body.replace(b"drift", b"drivel"), header, SECRET)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and len(delivery.attempts) == 1


@pytest.mark.parametrize("receiver", [2], indirect=True)
def test_a_failing_receiver_is_retried_with_exponential_backoff_until_it_answers(
    story: Any,
    deployed: Any,
    settings: Any,
    receiver: Any,
    queued: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    state, url = receiver
    delivery = _alarm(story, deployed, settings, url, django_capture_on_commit_callbacks)
    # Eagerly applied, Celery runs each retry at once; the countdowns asked for are on the row.
    tasks.webhook_deliver.apply(kwargs={"delivery_id": delivery.pk})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [(a["status"], a["retry_in"]) for a in delivery.attempts] == [(503, 5.0), (503, 10.0), (204, None)]
    assert len(state.received) == 3 and all(valid for _, _, valid in state.received)


@pytest.mark.parametrize("receiver", [99], indirect=True)
def test_a_receiver_that_keeps_failing_is_given_up_on_and_the_failures_are_visible(
    story: Any,
    deployed: Any,
    settings: Any,
    receiver: Any,
    queued: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    state, url = receiver
    delivery = _alarm(story, deployed, settings, url, django_capture_on_commit_callbacks)
    tasks.webhook_deliver.apply(kwargs={"delivery_id": delivery.pk})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and len(state.received) == 4
    assert [a["retry_in"] for a in delivery.attempts] == [5.0, 10.0, 20.0, None]
    tasks.webhook_deliver.apply(kwargs={"delivery_id": delivery.pk})  # a duplicate message does nothing
    assert len(state.received) == 4
    shown = client_for(story.approver).get("/api/v1/deployments/staging/churn/monitoring").json()
    assert shown["webhooks"][0]["status"] == "failed"
    assert [a["error"] for a in shown["webhooks"][0]["attempts"]] == ["HTTP 503 Service Unavailable"] * 4
    entries = AuditEntry.objects.filter(action="monitoring.webhook_attempt").order_by("index")
    outcomes = [json.loads(entry)["data"]["outcome"] for entry in entries.values_list("entry", flat=True)]
    assert outcomes == ["pending", "pending", "pending", "failed"]
