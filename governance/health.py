"""Liveness (``/healthz``: the process answers) and readiness (``/readyz``: database and broker reachable)."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from governance.celery import app as celery_app

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # readiness reports any failure, whatever the driver raises
        return f"database: {type(exc).__name__}"
    return None


def _broker_ok() -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # readiness reports any failure, whatever the transport raises
        return f"broker: {type(exc).__name__}"
    return None


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    problems = [problem for problem in (_database_ok(), _broker_ok()) if problem]
    if problems:
        logger.warning("not ready", extra={"problems": problems})
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ok"})
