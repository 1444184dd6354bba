"""Is PostgreSQL / Redis / a browser here? Used by the test runner and the tests' skip-or-fail rule."""

from __future__ import annotations

import os
import shutil
import socket


def postgres_url(database: str) -> str:
    base = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    return f"{base.rstrip('/')}/{database}"


def redis_url(db: int = 0) -> str:
    return os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{db}")


def _tcp(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return f"nothing answers on {host}:{port} ({exc.strerror or exc})"


def browser_binaries() -> tuple[str, str]:
    """Chromium and its chromedriver: Debian's (``apt-get install chromium chromium-driver``) or any
    Chromium build on PATH whose driver sits beside it. Raises LookupError saying what is missing."""
    browser = next(
        (
            found
            for name in ("chromium", "chromium-browser", "google-chrome")
            if (found := shutil.which(name))
        ),
        None,
    )
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        missing = " and ".join(
            what for what, found in (("chromium", browser), ("chromedriver", driver)) if found is None
        )
        raise LookupError(f"{missing} not on PATH (apt-get install chromium chromium-driver)")
    return browser, driver


def service_problem(name: str) -> str | None:
    """None when the service is usable, else why not."""
    if name == "postgres":
        problem = _tcp("127.0.0.1", 5432)
        if problem:
            return problem
        try:
            import psycopg

            with psycopg.connect(postgres_url("postgres"), connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:  # any driver error means "not usable here"
            return f"PostgreSQL refused the connection: {exc}"
        return None
    if name == "redis":
        problem = _tcp("127.0.0.1", 6379)
        if problem:
            return problem
        try:
            import redis

            redis.Redis.from_url(redis_url(), socket_timeout=2).ping()
        except Exception as exc:  # any client error means "not usable here"
            return f"Redis did not answer PING: {exc}"
        return None
    if name == "browser":
        try:
            browser_binaries()
        except LookupError as exc:
            return str(exc)
        try:
            import selenium  # noqa: F401
        except ImportError:
            return "selenium is not installed (pip install -e '.[dev]')"
        return None
    if name == "pdftoppm":
        if shutil.which("pdftoppm"):
            return None
        return "pdftoppm is not installed (apt-get install poppler-utils)"
    raise ValueError(f"unknown service {name!r}")
