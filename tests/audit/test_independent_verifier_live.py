"""An independent verifier, written from RFC 9162 and the C2SP texts alone (it imports nothing from
`audit`), checks the live service over real HTTP: checkpoint signature, root over all entries, and
random inclusion and consistency proofs."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from audit.actors import Actor
from governance.accounts import services
from tests.audit.factories import build_log
from tests.audit.independent_verifier import VerificationError, fetch_and_verify

pytestmark = pytest.mark.django_db(transaction=True)


def _http_getter(base: str, token: str):
    def get(path: str) -> tuple[int, str, bytes]:
        request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (live_server on localhost)
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read()

    return get


def test_the_independent_verifier_accepts_the_live_log(live_server) -> None:
    auditor = services.user_create(actor=Actor.system("tests"), username="witness", roles=["auditor"])
    _, token = services.token_issue(actor=Actor.system("tests"), user=auditor, name="witness")
    build_log((30, 64))

    summary = fetch_and_verify(_http_getter(live_server.url, token), samples=30, seed=3)

    assert summary["tree_size"] >= 64
    assert summary["inclusion_checked"] >= 30 and summary["consistency_checked"] >= 1


def test_the_independent_verifier_rejects_a_key_the_service_does_not_sign_with(live_server) -> None:
    auditor = services.user_create(actor=Actor.system("tests"), username="witness2", roles=["auditor"])
    _, token = services.token_issue(actor=Actor.system("tests"), user=auditor, name="witness")
    build_log((5,))
    stranger = "governance.example/audit+00000000+AQ" + "A" * 42 + "="

    with pytest.raises(VerificationError):
        fetch_and_verify(_http_getter(live_server.url, token), trusted_vkey=stranger, samples=3)
