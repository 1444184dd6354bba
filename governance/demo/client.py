"""The demo's HTTP client: one bearer token per persona, JSON in and out, and a browser-like login."""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

Say = Callable[[str], None]  # how the demo tells what happened (print, or collect in a test)

# Every URL here is the demo's own service on 127.0.0.1 (S310: no file: or custom scheme is opened).


class ApiError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class Api:
    """A tiny JSON client for the service's API, one bearer token per persona."""

    def __init__(self, base: str, tokens: dict[str, str]) -> None:
        self.base = base
        self.tokens = tokens

    def call(
        self,
        who: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.tokens[who]}")
        if data is not None:
            request.add_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (our localhost API)
                payload = response.read()
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            try:
                raise ApiError(exc.code, json.loads(text)) from None
            except json.JSONDecodeError:
                raise ApiError(exc.code, text) from None
        return json.loads(payload) if "json" in kind else payload

    def upload(self, who: str, path: str, field: str, filename: str, content: bytes) -> Any:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.call(
            who, "POST", path, raw=body, content_type=f"multipart/form-data; boundary={boundary}"
        )


def wait_job(api: Api, who: str, job_id: int, say: Say) -> dict[str, Any]:
    seen = ""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = api.call(who, "GET", f"/api/v1/jobs/{job_id}")
        progress = f"{job['status']} / {job['stage']} {job['percent']}%"
        if progress != seen:
            say(f"     job {job_id}: {progress}")
            seen = progress
        if job["status"] in {"succeeded", "failed", "refused"}:
            return dict(job)
        time.sleep(0.5)
    raise RuntimeError(f"job {job_id} did not finish in 300 s")


def sign(api: Api, who: str, release: int, password: str, comment: str) -> dict[str, Any]:
    body = {"meaning": "approved", "comment": comment, "password": password}
    return dict(api.call(who, "POST", f"/api/v1/releases/{release}/signatures", body)["signature"])


def page_as(api: Api, who: str, password: str, path: str) -> str:
    """A web page as ``who`` sees it in a browser: signed in through the login form, then fetched."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = f"{api.base}/accounts/login/"
    with opener.open(login, timeout=60) as response:
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.read().decode())
    fields = {"username": who, "password": password, "csrfmiddlewaretoken": csrf[1] if csrf else ""}
    opener.open(
        urllib.request.Request(login, data=urllib.parse.urlencode(fields).encode()),  # noqa: S310
        timeout=60,
    ).close()
    with opener.open(f"{api.base}{path}", timeout=60) as response:
        return str(response.read().decode())
