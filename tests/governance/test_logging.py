from __future__ import annotations

import json
import logging
from types import SimpleNamespace

from governance.celery import _adopt_request_id, _attach_request_id
from governance.core.logs import RequestIdFilter, request_id_var


def test_a_request_id_travels_into_the_task_it_enqueues() -> None:
    token = request_id_var.set("req-0123456789")
    try:
        headers: dict[str, object] = {}
        _attach_request_id(headers=headers)
    finally:
        request_id_var.reset(token)
    task = SimpleNamespace(request=SimpleNamespace(request_id=headers["request_id"]))

    _adopt_request_id(task=task)

    assert request_id_var.get() == "req-0123456789"


def test_log_lines_are_json_with_the_request_id() -> None:
    from pythonjsonlogger.json import JsonFormatter

    record = logging.LogRecord("governance", logging.INFO, __file__, 1, "hello", None, None)
    token = request_id_var.set("req-abcdef0123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s").format(record)

    assert json.loads(line) == {
        "levelname": "INFO",
        "name": "governance",
        "message": "hello",
        "request_id": "req-abcdef0123",
    }
