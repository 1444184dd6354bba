"""Acceptance 2 of issue 17: every page each role may open, in a real browser, screenshotted under
var/screenshots/<role>/ and checked with axe-core against WCAG 2.1 A and AA: no violation of impact
serious or critical. The pages a role may open are found by asking the server, so a new page or a
changed role check is covered without editing this list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from governance.menu import LINKS
from tests.browser import audit_page, sign_in
from tests.console.seed import PASSWORD, PEOPLE, World, console_world

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _pages(world: World) -> dict[str, str]:
    """Screenshot name -> path: every menu page and one of each detail page."""
    erasure = world.erasure
    model = erasure.model_version.model.name
    pages = {link.label.lower().replace(" ", "-"): link.path for link in LINKS if link.path.startswith("/")}
    pages.pop("api")  # Swagger UI and Redoc are third-party pages (tests/console/test_api_docs_browser.py)
    pages.pop("admin")  # Django's own admin site
    pages.update(
        {
            "release": f"/approvals/{world.waiting.pk}/",
            "signatures": "/approvals/signatures/",
            "model": f"/models/{model}/",
            "deployment": f"/deployments/{erasure.deployment.environment}/{model}/",
            "lineage-graph": f"/lineage/?nodeId={erasure.deployment.node_id}",
            "privacy-request": f"/privacy/requests/{erasure.request.pk}/",
            "privacy-subject": "/privacy/subject/",
            "job": f"/jobs/{world.job.pk}/",
            "audit-entry": "/audit/1/",
            "search-results": "/search/?q=churn",
            "not-found": "/no-such-page/",
        }
    )
    return pages


def _open_for(user: Any, pages: dict[str, str]) -> dict[str, str]:
    """The pages ``user`` may open, the 404 page, and the 403 page of the first page refused to them."""
    client = Client()
    client.force_login(user)
    answers = {name: client.get(path).status_code for name, path in pages.items()}
    wanted = {name: 404 if name == "not-found" else 200 for name in pages}
    found = {name: pages[name] for name, status in answers.items() if status == wanted[name]}
    refused = [pages[name] for name, status in answers.items() if status == 403]
    if refused:
        found["refused"] = refused[0]
    return found


@pytest.mark.parametrize("role", list(PEOPLE))
def test_every_page_a_role_may_open_has_no_serious_accessibility_violation(
    live_server: Any, browser: Any, make_user: Any, role: str
) -> None:
    world = console_world(make_user)
    pages = _open_for(world.users[role], _pages(world))
    assert "home" in pages and "not-found" in pages

    sign_in(browser, live_server.url, PEOPLE[role][0], PASSWORD)
    violations = []
    for name, path in pages.items():
        browser.get(f"{live_server.url}{path}")
        violations += audit_page(browser, name, role)
    browser.get(f"{live_server.url}/accounts/logout/")  # GET is refused: a 405 page, screenshotted too
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/accounts/login/")
    violations += audit_page(browser, "sign-in", role)
    assert violations == [], "\n".join(
        f"{v['page']}: {v['rule']} ({v['impact']}): {v['help']} {v['elements']}" for v in violations
    )
