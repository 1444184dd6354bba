"""The HTML lineage report carries its own stylesheet (so it reads the same opened from the zip): served
by us, its Content Security Policy admits exactly that stylesheet by hash, and still no inline script."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from governance.core.csp import style_hashes
from tests.console.seed import console_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_html_report_is_styled_under_the_csp(make_user: Any) -> None:
    world = console_world(make_user)
    client = Client()
    client.force_login(world.users["auditor"])
    response = client.get(f"/api/v1/reports/lineage?nodeId={world.erasure.deployment.node_id}&format=html")
    assert response.status_code == 200
    css = re.search(rb"<style>(.*?)</style>", response.content, re.S)
    assert css is not None
    digest = base64.b64encode(hashlib.sha256(css.group(1)).digest()).decode()
    policy = response.headers["Content-Security-Policy"]
    style = next(part.split() for part in policy.split(";") if part.strip().startswith("style-src"))
    assert style == ["style-src", "'self'", f"'sha256-{digest}'"]
    assert "script-src 'self'" in policy and "unsafe" not in policy


def test_a_json_report_keeps_the_site_policy(make_user: Any) -> None:
    world = console_world(make_user)
    client = Client()
    client.force_login(world.users["auditor"])
    response = client.get(f"/api/v1/reports/lineage?nodeId={world.erasure.deployment.node_id}&format=json")
    assert "style-src 'self';" in response.headers["Content-Security-Policy"] + ";"


def test_style_hashes_are_the_hash_sources_of_each_style_element_once() -> None:
    document = b"<style>a{}</style><p>x</p><style media='print'>b{}</style><style>a{}</style>"
    expected = [
        "'sha256-" + base64.b64encode(hashlib.sha256(text).digest()).decode() + "'"
        for text in (b"a{}", b"b{}")
    ]
    assert style_hashes(document) == expected
    assert style_hashes(b"<p>no style</p>") == []
