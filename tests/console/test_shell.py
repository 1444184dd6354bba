"""The console's frame: a menu that offers each role exactly the pages it may open, branded error and
signed-out pages, a Content Security Policy on every page, and the API reference served offline."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from governance.menu import LINKS

pytestmark = pytest.mark.django_db

ROLES = ("compliance_officer", "auditor", "data_scientist", "admin", "pipeline")
NAV = re.compile(r'<nav class="menu" aria-label="Main">(.*?)</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')


def _client_as(make_user: Callable[..., Any], role: str) -> Client:
    client = Client()
    client.force_login(make_user(f"the-{role.replace('_', '-')}", role))
    return client


def _menu(html: str) -> list[str]:
    found = NAV.search(html)
    assert found, "the page has no main menu"
    return HREF.findall(found.group(1))


def _opens(client: Client, path: str) -> bool:
    return client.get(path).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_each_role_s_menu_offers_exactly_the_pages_it_may_open(
    make_user: Callable[..., Any], role: str
) -> None:
    client = _client_as(make_user, role)
    menu = _menu(client.get("/").content.decode())
    openable = [link.path for link in LINKS if _opens(client, link.path)]
    assert menu == openable


def test_a_data_scientist_is_not_offered_privacy_and_an_admin_is_not_offered_models(
    make_user: Callable[..., Any],
) -> None:
    scientist = _menu(_client_as(make_user, "data_scientist").get("/").content.decode())
    admin = _menu(_client_as(make_user, "admin").get("/").content.decode())
    assert "/privacy/requests/" not in scientist
    assert "/models/" in scientist
    assert "/models/" not in admin
    assert "/admin/" in admin


def test_the_current_page_is_marked_in_the_menu(make_user: Callable[..., Any]) -> None:
    html = _client_as(make_user, "compliance_officer").get("/approvals/").content.decode()
    assert '<a href="/approvals/" aria-current="page">Approvals</a>' in html


def test_a_refused_page_is_the_branded_403_with_the_menu(make_user: Callable[..., Any]) -> None:
    response = _client_as(make_user, "data_scientist").get("/privacy/requests/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "/static/console/console.css" in html
    assert "/privacy/requests/" not in _menu(html)
    assert "/approvals/" in _menu(html)


def test_an_unknown_page_is_the_branded_404_with_the_menu(make_user: Callable[..., Any]) -> None:
    response = _client_as(make_user, "auditor").get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "/static/console/console.css" in html
    assert "/audit/" in _menu(html) or "/approvals/" in _menu(html)


def test_signing_out_lands_on_our_signed_out_page(make_user: Callable[..., Any]) -> None:
    client = _client_as(make_user, "compliance_officer")
    response = client.post("/accounts/logout/", follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [("/accounts/signed-out/", 302)]
    assert "You are signed out" in html
    assert "/static/console/console.css" in html
    assert "Django administration" not in html
    assert client.get("/").status_code == 302  # the session is gone


def test_signing_out_of_the_admin_site_lands_on_the_same_page(make_user: Callable[..., Any]) -> None:
    client = _client_as(make_user, "admin")
    response = client.post("/admin/logout/", follow=True)
    assert response.redirect_chain[-1] == ("/accounts/signed-out/", 302)
    assert "You are signed out" in response.content.decode()


@pytest.mark.parametrize("path", ["/", "/approvals/", "/accounts/login/", "/no-such-page/", "/api/docs/"])
def test_pages_carry_the_content_security_policy(make_user: Callable[..., Any], path: str) -> None:
    response = _client_as(make_user, "compliance_officer").get(path)
    policy = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ):
        assert directive in policy


def _assets(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_reference_loads_only_our_own_files_and_they_are_served(path: str) -> None:
    client = Client()
    response = client.get(path)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>" not in html and "<style" not in html and "style=" not in html
    assets = _assets(html)
    assert assets, "no script or stylesheet found"
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by this service"
        assert not asset.startswith("//")
        served = client.get(asset)
        assert served.status_code == 200, asset
        if asset.startswith("/static/"):
            assert b"".join(served.streaming_content if served.streaming else [served.content])  # type: ignore[attr-defined]


def test_the_swagger_start_up_script_is_a_file_not_inline() -> None:
    client = Client()
    html = client.get("/api/docs/").content.decode()
    script = next(asset for asset in _assets(html) if "script=" in asset)
    response = client.get(script)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in response.content.decode()


def test_the_redoc_page_admits_only_two_known_style_elements_and_no_inline_script() -> None:
    policy = Client().get("/api/redoc/").headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["style-src"] == [
        "'self'",
        "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # an empty <style>, filled via the CSSOM
        "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # perfect-scrollbar's stylesheet
    ]
    assert directives["script-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert "unsafe" not in policy


def test_the_favicon_browsers_ask_for_is_ours() -> None:
    client = Client()
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"] == "/static/console/favicon.svg"
    assert client.get("/static/console/favicon.svg").status_code == 200
