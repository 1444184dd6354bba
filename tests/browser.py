"""Driving Debian's headless chromium with Selenium, for the pages compliance officers use.

The browser resolves no host but this machine's (``--host-resolver-rules``): a page that needs the
internet for a script, stylesheet or font fails in these tests as it would offline. Its console is
recorded (``console_errors``), and ``audit_page`` screenshots a page and runs axe-core on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need


@pytest.fixture
def browser() -> Iterator[Any]:
    need("browser")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from governance.testing.services import browser_binaries

    chromium, chromedriver = browser_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        # Offline but for this machine: any other host is "not found", so nothing loads from a CDN.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in_and_approve(
    driver: Any, base: str, username: str, password: str, release_id: int, comment: str
) -> str:
    """Sign in, open the approval queue, open the request, approve it with the password entered again;
    returns the confirmation the page shows."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 20)
    driver.delete_all_cookies()
    driver.get(f"{base}/accounts/login/?next=/approvals/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    wait.until(ready.presence_of_element_located((By.ID, "queue")))
    driver.find_element(By.CSS_SELECTOR, f'a[href="/approvals/{release_id}/"]').click()
    wait.until(ready.presence_of_element_located((By.ID, "sign-form")))
    driver.find_element(By.CSS_SELECTOR, 'input[name="meaning"][value="approved"]').click()
    driver.find_element(By.ID, "id_comment").send_keys(comment)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.ID, "sign-button").click()
    message = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".message")))
    return str(message.text)


SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then((result) => done(JSON.stringify(result.violations)))
  .catch((error) => done(JSON.stringify({error: String(error)})));
"""


def console_errors(driver: Any) -> list[str]:
    """The browser console's errors since the last call (CSP refusals among them)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def sign_in(driver: Any, base: str, username: str, password: str, next_path: str = "/") -> None:
    """Sign in through the login page (cookies cleared first) and wait for ``next_path``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(f"{base}/accounts/login/?next={next_path}")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    WebDriverWait(driver, 20).until(ready.presence_of_element_located((By.ID, "sign-out")))


def _screenshot(driver: Any, path: Path) -> None:
    # The whole page, not the first screenful: the window grows to the document's height for the shot.
    width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
    full = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    driver.set_window_size(width, min(max(int(full) + 200, height), 8000))
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(width, height)


def audit_page(driver: Any, name: str, role: str) -> list[dict[str, Any]]:
    """Screenshot the open page to var/screenshots/<role>/<name>.png and run axe-core (WCAG 2.0/2.1 A
    and AA rules) on it; returns the violations of impact serious or critical (empty when none), each
    with its rule id, help text and the elements it found."""
    folder = SCREENSHOTS / role
    folder.mkdir(parents=True, exist_ok=True)
    _screenshot(driver, folder / f"{name}.png")
    driver.set_script_timeout(120)
    # WebDriver runs this as the browser's own script, outside the page's Content Security Policy.
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found = json.loads(driver.execute_async_script(_RUN_AXE, WCAG_21_AA))
    if isinstance(found, dict):
        raise RuntimeError(f"axe-core failed on {driver.current_url}: {found['error']}")
    return [
        {
            "page": driver.current_url,
            "rule": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "elements": [node["target"] for node in violation["nodes"]][:10],
        }
        for violation in found
        if violation["impact"] in ("serious", "critical")
    ]
