"""A release grant is a bearer credential: it never appears in a log line (issue 14).

Celery logs a task's arguments (the grant among them) as extra fields of its "received" and failure
records; the service's JSON log formatter takes every grant out of the finished line.
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from governance.approvals.grants import grant_sign
from governance.logs import GRANT_REDACTED


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The service's logging configuration, its console handler writing into a buffer."""
    logging.config.dictConfig(settings.LOGGING)
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def _grant() -> str:
    claims: Any = {
        "typ": "governance-grant/1",
        "grant_id": "4b8e6c1e-3f0a-4d8e-9a55-0c7d2f1e9b3a",
        "request_id": 7,
    }
    return grant_sign(claims, Ed25519PrivateKey.generate())


def test_a_grant_in_a_celery_task_record_is_redacted(log_lines: io.StringIO) -> None:
    grant = _grant()
    context = {
        "id": "c0ffee",
        "name": "jobs.release_job_run",
        "args": "()",
        "kwargs": repr({"job_id": 3, "grant": grant}),
    }

    logging.getLogger("celery.worker.strategy").info(
        "Task %(name)s[%(id)s] received, kwargs %(kwargs)s", context, extra={"data": context}
    )
    try:
        raise RuntimeError(f"worker lost while running with grant {grant}")
    except RuntimeError:
        logging.getLogger("celery.app.trace").exception("Task %(name)s[%(id)s] raised", context)

    text = log_lines.getvalue()
    assert grant not in text and grant.split(".")[1] not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 2 and GRANT_REDACTED in lines[0]["message"]
    assert GRANT_REDACTED in lines[0]["data"]["kwargs"] and "'job_id': 3" in lines[0]["data"]["kwargs"]
    assert GRANT_REDACTED in lines[1]["exc_info"]


def test_other_dotted_values_are_left_alone(log_lines: io.StringIO) -> None:
    logging.getLogger("governance").info("token prefix Y0ekwTCP.sha512 and version 1.2.3 of model:churn#1")

    assert "Y0ekwTCP.sha512 and version 1.2.3 of model:churn#1" in log_lines.getvalue()
