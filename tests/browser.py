"""Driving Debian's headless chromium with Selenium, for the pages compliance officers use."""

from __future__ import annotations

from collections.abc import Iterator
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
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
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
