"""The Django admin site keeps working under the site's Content Security Policy (Django 5.2's admin
loads its scripts as files): an administrator signs in, lists and opens users without a refused script or
style, and signing out lands on the console's signed-out page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import console_errors

pytestmark = [pytest.mark.browser, pytest.mark.integration]
PASSWORD = "admin-password-5Rz!"


def test_the_admin_site_runs_under_the_csp(live_server: Any, browser: Any, make_user: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    admin = make_user("ada", "admin", password=PASSWORD, full_name="Ada Admin")
    wait = WebDriverWait(browser, 20)
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.ID, "id_username").send_keys("ada")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(ready.presence_of_element_located((By.ID, "logout-form")))
    for path in ("/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{admin.pk}/change/"):
        browser.get(f"{live_server.url}{path}")
        wait.until(ready.presence_of_element_located((By.ID, "content")))
        errors = console_errors(browser)
        assert errors == [], f"{path}: " + "\n".join(errors)
    browser.find_element(By.CSS_SELECTOR, "#logout-form button").click()
    wait.until(ready.url_contains("/accounts/signed-out/"))
    assert "You are signed out" in browser.page_source
