"""The lineage graph in a real browser (headless Chromium): it fits the 72rem page with the deployment
and the legend in view, the buttons and keys zoom and pan it, a node opens its page; no CSP violation,
no serious accessibility finding."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import audit_page, sign_in
from tests.registry.factories import build_story

pytestmark = [pytest.mark.browser, pytest.mark.integration]
PASSWORD = "Auditor-Password-81"


def _view_box(driver: Any) -> list[float]:
    box = driver.execute_script("return document.querySelector('svg.lineage-graph').getAttribute('viewBox')")
    return [float(v) for v in str(box).split()]


def test_the_graph_fits_zooms_pans_and_links_in_the_browser(
    live_server: Any, browser: Any, make_user: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    build_story(make_user("dana", "data_scientist"))
    make_user("ada", "auditor", password=PASSWORD)
    sign_in(browser, live_server.url, "ada", PASSWORD)
    browser.get(f"{live_server.url}/lineage/?nodeId=model:churn%231")

    figure = browser.find_element(By.ID, "lineage-figure").rect
    svg = browser.find_element(By.CSS_SELECTOR, "svg.lineage-graph").rect
    deployment = browser.find_element(By.CSS_SELECTOR, "g.node-deployment").rect
    legend = browser.find_element(By.CSS_SELECTOR, "g.legend").rect
    assert svg["width"] <= figure["width"] + 1
    for part in (deployment, legend):  # inside the drawing, not cut off at its right edge
        assert part["x"] + part["width"] <= svg["x"] + svg["width"] + 1

    full = _view_box(browser)
    browser.find_element(By.CSS_SELECTOR, 'button[data-zoom="in"]').click()
    zoomed = _view_box(browser)
    assert zoomed[2] < full[2]
    viewport = browser.find_element(By.ID, "lineage-viewport")
    viewport.send_keys(Keys.ARROW_RIGHT)
    assert _view_box(browser)[0] > zoomed[0]
    viewport.send_keys("0")
    assert _view_box(browser) == full

    assert not audit_page(browser, "lineage-zoomed", "auditor")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors

    browser.find_element(By.CSS_SELECTOR, 'a.node-link[href="/deployments/production/churn/"]').click()
    assert browser.current_url.endswith("/deployments/production/churn/")
