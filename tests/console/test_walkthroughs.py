"""Acceptance 1 of issue 17: each role's main tasks, walked end to end in a real browser by clicking from
the home page (only the sign-in page is typed), on a world shaped like the demo's: a model trained on
personal data serving production, an erasure request blocking it, a release waiting for an officer's
signature, a job that registered a model version, a refused job and a signed audit checkpoint.

Every page a walk opens is screenshotted under var/screenshots/<role>/walk-*.png and checked with
axe-core (WCAG 2.1 A and AA): no violation of impact serious or critical.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from audit.actors import Actor
from governance.approvals.services.signatures import release_sign
from governance.jobs.models import JobStatus, ReleaseJob
from tests.approvals.factories import train_request
from tests.browser import audit_page, sign_in
from tests.console.seed import PASSWORD, PEOPLE, World, console_world
from tests.console.workflow_factories import job_row

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


class Walk:
    """A signed-in person clicking through the console; each page they reach is screenshotted and
    checked with axe-core, its serious or critical violations collected."""

    def __init__(self, driver: Any, base: str, role: str) -> None:
        self.driver, self.base, self.role = driver, base, role
        self.violations: list[dict[str, Any]] = []
        self.step = 0

    def sign_in(self) -> None:
        sign_in(self.driver, self.base, PEOPLE[self.role][0], PASSWORD)
        self.seen("home")

    def seen(self, name: str) -> None:
        self.step += 1
        self.violations += audit_page(self.driver, f"walk-{self.step:02d}-{name}", self.role)

    def wait_for(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ready
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, 20).until(ready.presence_of_element_located((By.CSS_SELECTOR, css)))

    def click(self, css: str, then: str, name: str) -> Any:
        """Click the first element matching ``css``, wait for ``then`` on the next page, audit it."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        page = self.driver.find_element(By.TAG_NAME, "html")
        self.driver.find_element(By.CSS_SELECTOR, css).click()

        def left(_driver: Any) -> bool:
            # Chromium reports an element of a document being replaced as stale, or, mid-navigation,
            # as "does not belong to the document": either way the old page is gone.
            try:
                page.is_enabled()
            except WebDriverException:
                return True
            return False

        # The next page, not the one clicked on (both may hold ``then``, e.g. a step's redirect).
        WebDriverWait(self.driver, 20).until(left)
        found = self.wait_for(then)
        self.seen(name)
        return found

    def home(self) -> None:
        self.click('a[href="/"]', "h1", "home")

    def text(self, css: str) -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.CSS_SELECTOR, css).text)

    def fill(self, css: str, value: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, css).send_keys(value)

    def clean(self) -> None:
        assert self.violations == [], "\n".join(
            f"{v['page']}: {v['rule']} ({v['impact']}): {v['help']} {v['elements']}" for v in self.violations
        )


def _world(make_user: Any) -> tuple[World, ReleaseJob]:
    """The console's world and, as the demo's training job leaves it, Dana's job that registered the
    model version now serving production."""
    world = console_world(make_user)
    erasure = world.erasure
    release = train_request(world.users["data_scientist"], erasure.version, justification="first model")
    officer = world.users["compliance_officer"]
    release_sign(
        actor=Actor.for_user(officer), release=release, signer=officer, meaning="approved", password=PASSWORD
    )
    produced = job_row(
        release,
        status=JobStatus.SUCCEEDED,
        result={
            "model_version": erasure.model_version.node_id,
            "run": erasure.model_version.run.node_id if erasure.model_version.run else "",
            "metrics": {"auc": 0.81},
        },
    )
    return world, produced


def _step(walk: Walk, action: str, name: str) -> None:
    """One privacy-request step: the password entered again, then the request's page once more."""
    walk.fill(f"#step-{action} input[name='password']", PASSWORD)
    walk.click(f"#{action}-button", "#status", name)


def test_an_officer_signs_handles_an_erasure_to_its_answer_and_sees_the_blocked_deployment(
    live_server: Any, browser: Any, make_user: Any
) -> None:
    world, _ = _world(make_user)
    walk = Walk(browser, live_server.url, "compliance_officer")
    request = world.erasure.request
    walk.sign_in()

    # The release waiting for an officer's signature, signed from the home page.
    walk.click(f'#officer-home a[href="/approvals/{world.waiting.pk}/"]', "#sign-form", "release")
    assert walk.driver.find_elements("css selector", 'input[name="meaning"]:checked') == []
    walk.driver.find_element("css selector", 'input[name="meaning"][value="approved"]').click()
    walk.fill("#id_comment", "data pinned, thresholds declared")
    walk.fill("#id_password", PASSWORD)
    message = walk.click("#sign-button", ".message", "release-signed")
    assert message.text.startswith("Signed: Olivia Officer · approved · ")
    assert walk.text("#status") == "approved"

    # The erasure request, from the home page's list by due date, through to the response document.
    walk.home()
    first = 'table[aria-labelledby="privacy-heading"] tbody tr:first-child a'  # overdue ones come first
    assert (
        walk.driver.find_element("css selector", first)
        .get_attribute("href")
        .endswith(f"/privacy/requests/{request.pk}/")
    )
    walk.click(first, "#step-verify", "privacy-request")
    assert "model:churn#1" in walk.text("#impact-models")
    _step(walk, "verify", "privacy-verified")
    _step(walk, "erase", "privacy-erased")
    _step(walk, "complete", "privacy-completed")
    assert walk.text("#status") == "Completed"
    walk.click("#response-link", "#response-document", "privacy-response")
    assert "model:churn#1" in walk.text("#found")
    assert walk.text("#outcome")

    # The deployment the erasure blocks, from the home page, carries the erasure's banner.
    walk.home()
    deployment = world.erasure.deployment
    walk.click(
        f'#blocked-deployments a[href="/deployments/{deployment.environment}/churn/"]',
        "#erasure-banner",
        "blocked-deployment",
    )
    assert f"request #{request.pk}" in walk.text("#erasure-banner")
    walk.clean()


def test_an_auditor_finds_an_entry_checks_its_proof_exports_and_verifies_the_bundle(
    live_server: Any, browser: Any, make_user: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.support.ui import Select

    _world(make_user)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    walk = Walk(browser, live_server.url, "auditor")
    walk.sign_in()
    assert walk.text("#checkpoint-verified") == "verifies"

    walk.click('#auditor-home a[href="/audit/"]', "#id_action", "audit-log")
    Select(walk.driver.find_element("css selector", "#id_action")).select_by_value("privacy_request.create")
    walk.click("form.filters button[type='submit']", "table", "audit-log-filtered")
    assert "action=privacy_request.create" in walk.driver.current_url
    entry = walk.click("table tbody a[href^='/audit/']", "#proof-result", "audit-entry")
    assert entry.text.startswith("Verified")
    assert "privacy_request.create" in walk.text("h1")

    command = walk.text("#audit-verify-command")
    walk.driver.find_element("css selector", "#audit-export").click()
    bundle = downloads / "audit-bundle.zip"
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(walk.driver, 30).until(lambda _: bundle.exists() and bundle.stat().st_size > 0)
    argv = shlex.split(command)
    assert argv[:4] == ["python", "-m", "audit.verify", "audit-bundle.zip"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    verified = subprocess.run(  # the command the page shows, run as an auditor would
        [sys.executable, *argv[1:]], cwd=downloads, env=env, capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK:"), verified.stdout
    walk.clean()


def test_a_data_scientist_follows_their_job_to_the_model_version_it_registered(
    live_server: Any, browser: Any, make_user: Any
) -> None:
    world, produced = _world(make_user)
    walk = Walk(browser, live_server.url, "data_scientist")
    walk.sign_in()

    walk.click(f'#scientist-home a[href="/jobs/{produced.pk}/"]', "#job-facts", "job")
    assert walk.text("#job-status") == "succeeded"
    version = world.erasure.model_version
    assert walk.text("#job-outcome a[href='/models/churn/']") == version.node_id
    walk.click("#job-outcome a[href='/models/churn/']", "h1", "model")
    assert walk.text("h1") == "churn"
    assert version.artifact_sha256 in walk.driver.page_source
    drawn = walk.driver.find_elements("css selector", 'a[href="/lineage/?nodeId=model:churn%231"]')
    assert len(drawn) == 1  # the version the job registered, with its lineage
    banner = walk.text("#erasure-banner")  # the erasure reaches the scientist's model page too
    assert f"request #{world.erasure.request.pk}" in banner
    walk.clean()
