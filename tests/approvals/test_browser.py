"""Two compliance officers sign a release off in a real browser (Debian's chromium, headless, driven by
Selenium): sign in, open the queue, open the request, sign with the password entered again."""

from __future__ import annotations

from typing import Any

import pytest

from governance.approvals import grants, selectors
from governance.approvals.keys import grant_public_keys
from tests.approvals.factories import PASSWORD, dataset_version, train_request, two_officer_policy
from tests.browser import sign_in_and_approve

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _sign_in_and_approve(driver: Any, base: str, username: str, release_id: int, comment: str) -> str:
    return sign_in_and_approve(driver, base, username, PASSWORD, release_id, comment)


def test_two_officers_sign_off_in_the_browser_and_the_request_gets_its_grant(
    live_server: Any, browser: Any, requester: Any, approver: Any, second_approver: Any
) -> None:
    from selenium.webdriver.common.by import By

    two_officer_policy()
    release = train_request(requester, dataset_version(requester))

    first = _sign_in_and_approve(
        browser, live_server.url, "olivia", release.pk, "data pinned, thresholds declared"
    )
    assert first.startswith("Signed: Olivia Officer · approved · ")
    assert first.endswith(" UTC")
    assert browser.find_element(By.ID, "status").text == "pending"

    second = _sign_in_and_approve(browser, live_server.url, "oscar", release.pk, "agree")
    assert second.startswith("Signed: Oscar Officer · approved · ")
    assert browser.find_element(By.ID, "status").text == "approved"
    assert "ready to run once" in browser.find_element(By.ID, "grant").text
    shown = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#signatures .signature")]
    assert [text.split(" · ")[:2] for text in shown] == [
        ["Olivia Officer", "approved"],
        ["Oscar Officer", "approved"],
    ]
    assert all(text.endswith(" UTC") for text in shown)

    approved = selectors.release_get(pk=release.pk)
    assert approved.status == "approved"
    assert {signature.via for signature in approved.signatures.all()} == {"session"}
    claims = grants.grant_verify(selectors.grant_usable_for(approved).token, grant_public_keys())
    assert [signer["name"] for signer in claims["signers"]] == ["Olivia Officer", "Oscar Officer"]
