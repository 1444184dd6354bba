"""The servers' access logs never carry a subject id from a consent path."""

from __future__ import annotations

import logging

import pytest
from gunicorn.glogging import Logger as GunicornLogger

from governance.consent.access_logs import redact
from tests.consent.factories import raw_id


def test_a_consent_path_is_masked_and_other_paths_are_not() -> None:
    assert redact(f"GET /api/v1/consent/{raw_id(1)}?as_of=2026-01-01 HTTP/1.1") == (
        "GET /api/v1/consent/<subject_id>?as_of=2026-01-01 HTTP/1.1"
    )
    assert redact("POST /api/v1/consent/import HTTP/1.1") == "POST /api/v1/consent/import HTTP/1.1"
    assert redact("GET /api/v1/models/churn HTTP/1.1") == "GET /api/v1/models/churn HTTP/1.1"


def test_the_development_server_log_line_is_masked(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = logging.getLogger("django.server")
    monkeypatch.setattr(server, "handlers", [caplog.handler])  # it does not propagate to the root
    caplog.set_level(logging.INFO, logger="django.server")

    server.info('"%s" %s %s', f"GET /api/v1/consent/{raw_id(2)} HTTP/1.1", "200", "5")

    assert raw_id(2) not in caplog.text and "/api/v1/consent/<subject_id>" in caplog.text


def test_the_gunicorn_access_log_line_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gunicorn.access")
    atoms = GunicornLogger.atoms_wrapper_class(
        {"r": f"GET /api/v1/consent/{raw_id(3)} HTTP/1.1", "U": f"/api/v1/consent/{raw_id(3)}", "s": "200"}
    )

    logging.getLogger("gunicorn.access").info('"%(r)s" %(s)s %(U)s %({x-forwarded-for}i)s', atoms)

    assert raw_id(3) not in caplog.text
    assert '"GET /api/v1/consent/<subject_id> HTTP/1.1" 200 /api/v1/consent/<subject_id> -' in caplog.text
