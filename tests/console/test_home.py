"""Each role's home page shows what waits for it, every count linking to its filtered list."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.console.seed import World, console_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(make_user: Any) -> World:
    return console_world(make_user)


def _home(world: World, role: str) -> str:
    client = Client()
    client.force_login(world.users[role])
    response = client.get("/")
    assert response.status_code == 200
    return str(response.content.decode())


def test_an_officer_sees_approvals_waiting_with_their_age_policy_and_risk(world: World) -> None:
    html = _home(world, "compliance_officer")
    assert 'href="/approvals/all/?status=pending"' in html
    assert f'href="/approvals/{world.waiting.pk}/"' in html
    assert "console-train v1" in html and world.waiting.risk_level in html
    assert "0 seconds" in html or " second" in html or " minute" in html  # the age, in words


def test_an_officer_sees_privacy_requests_by_due_date_and_the_overdue_count_links_to_them(
    world: World,
) -> None:
    html = _home(world, "compliance_officer")
    assert 'href="/privacy/requests/?status=open"' in html
    assert f'href="/privacy/requests/{world.erasure.request.pk}/"' in html
    assert "day" in html and "left" in html
    assert "none overdue" in html


def test_an_officer_sees_the_deployment_an_erasure_blocks_the_open_alarm_and_the_refusal(
    world: World,
) -> None:
    html = _home(world, "compliance_officer")
    blocked = html[html.index('id="blocked-heading"') :]
    assert f"Privacy request #{world.erasure.request.pk}" in blocked
    assert "deployment:production:churn" in blocked
    assert 'href="/deployments/production/churn/"' in html  # the open drift alarm
    assert 'href="/deployments/?serving=1"' in html
    assert 'href="/audit/?action=job.refuse"' in html


def test_an_auditor_sees_the_latest_checkpoint_verify_and_a_search_box(world: World) -> None:
    html = _home(world, "auditor")
    assert '<span class="badge ok" id="checkpoint-verified">verifies</span>' in html
    assert 'action="/search/"' in html and 'name="q"' in html
    # A subject's id typed here must never travel in a URL (access logs, history): the form POSTs.
    assert '<form method="post" action="/search/"' in html
    assert 'href="/audit/?action=audit.export"' in html
    assert "Compliance work" not in html


def test_a_data_scientist_sees_their_requests_and_jobs_and_no_compliance_panels(world: World) -> None:
    html = _home(world, "data_scientist")
    assert f'href="/approvals/{world.waiting.pk}/"' in html
    assert f'href="/jobs/{world.job.pk}/"' in html and "refused" in html
    assert 'href="/approvals/all/?requested_by=dana"' in html
    assert 'href="/jobs/?mine=1"' in html
    assert "Compliance work" not in html and "Latest checkpoint" not in html
    assert "/privacy/requests/" not in html


@pytest.mark.parametrize("role", ["admin", "pipeline"])
def test_roles_without_a_panel_get_the_pages_they_may_open(world: World, role: str) -> None:
    html = _home(world, role)
    assert "Start here" in html
    assert 'href="/api/docs/"' in html


def test_every_link_on_each_home_opens_for_that_role(world: World) -> None:
    for role in ("compliance_officer", "auditor", "data_scientist"):
        client = Client()
        client.force_login(world.users[role])
        html = str(client.get("/").content.decode())
        main = html[html.index('<main id="main"') : html.index("</main>")]
        for href in sorted(set(re.findall(r'href="(/[^"]*)"', main))):
            status = client.get(href.replace("&amp;", "&")).status_code
            assert status == 200, (role, href, status)
