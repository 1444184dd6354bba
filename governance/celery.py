"""The Celery application: JSON only, late acks, queues default/train/deploy, results in the database."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

from governance.core.logs import new_request_id, request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings.base")

app = Celery("governance")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "request_id"


@signals.before_task_publish.connect
def _attach_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    # The request id travels in the message headers, so the worker's log lines and audit entries
    # name the HTTP request that caused them.
    if headers is not None and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = request_id_var.get()


@signals.task_prerun.connect
def _adopt_request_id(task: Any = None, **_: Any) -> None:
    incoming = getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None
    request_id_var.set(incoming or new_request_id())


@signals.setup_logging.connect
def _use_django_logging(**_: Any) -> None:
    # Connecting this signal stops Celery from replacing the root logger: the worker logs the same
    # JSON lines as the web process, configured by Django's LOGGING setting.
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
