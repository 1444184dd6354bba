"""The audit HTTP API for auditors and witnesses, and who may call what."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from tests.audit.factories import append_entries, build_log
from tests.audit.independent_verifier import fetch_and_verify

pytestmark = pytest.mark.django_db

READERS = ["auditor", "compliance_officer", "admin"]
OTHERS = ["data_scientist", "pipeline"]


def _getter(client: APIClient):
    def get(path: str) -> tuple[int, str, bytes]:
        response = client.get(path)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, response.get("Content-Type", ""), content

    return get


def test_checkpoint_and_public_key_need_no_login() -> None:
    append_entries(3)
    client = APIClient()

    checkpoint = client.get("/api/v1/audit/checkpoint")
    keys = client.get("/api/v1/audit/public-key")

    assert checkpoint.status_code == 200 and checkpoint["Content-Type"].startswith("text/plain")
    origin, size, _root = checkpoint.content.decode().split("\n")[:3]
    assert int(size) == AuditEntry.objects.count()
    assert keys.status_code == 200 and keys.content.decode().split("+")[0] == origin


@pytest.mark.parametrize("role", READERS)
def test_readers_page_through_entries_with_their_exact_leaf_bytes(role: str, token_client) -> None:
    client, _ = token_client(f"reader-{role}", role)
    append_entries(5)

    body = client.get("/api/v1/audit/entries?start=1&end=4").json()

    assert [entry["index"] for entry in body["entries"]] == [1, 2, 3]
    raw = base64.b64decode(body["entries"][0]["leaf"])
    assert AuditEntry.objects.get(index=1).entry.encode() == raw
    assert body["entries"][0]["action"] == AuditEntry.objects.get(index=1).action


@pytest.mark.parametrize("role", OTHERS)
def test_other_roles_may_not_read_entries_or_export(role: str, token_client) -> None:
    client, _ = token_client(f"other-{role}", role)

    assert client.get("/api/v1/audit/entries").status_code == 403
    assert client.get("/api/v1/audit/export").status_code == 403


def test_anonymous_callers_may_not_read_entries_or_export() -> None:
    assert APIClient().get("/api/v1/audit/entries").status_code == 401
    assert APIClient().get("/api/v1/audit/export").status_code == 401


def test_entries_filter_by_action_and_actor(token_client) -> None:
    client, _user = token_client("filterer", "auditor")
    append_entries(3)

    issued = client.get("/api/v1/audit/entries?action=token.issue").json()["entries"]
    system = client.get("/api/v1/audit/entries?actor_type=system&actor_id=tests").json()["entries"]

    assert [entry["target"]["type"] for entry in issued] == ["token"]
    assert len(system) >= 4


def test_entries_page_at_one_thousand_by_default_and_say_where_to_go_next(token_client) -> None:
    client, _ = token_client("pager", "auditor")
    append_entries(1005)

    first = client.get("/api/v1/audit/entries").json()
    second = client.get(f"/api/v1/audit/entries?start={first['next']}").json()

    assert len(first["entries"]) == 1000 and first["next"] == 1000
    # The last entry is the first page's own read (audit.read), appended after the size it reported.
    assert second["next"] is None and second["entries"][-1]["index"] == first["tree_size"]
    assert second["entries"][-1]["action"] == "audit.read"


@pytest.mark.parametrize(
    "query",
    ["index=5&tree_size=3", "index=-1&tree_size=3", "index=x&tree_size=3", "index=0&tree_size=999999"],
)
def test_bad_proof_requests_get_400_with_a_reason(query: str) -> None:
    append_entries(3)

    response = APIClient().get(f"/api/v1/audit/proof/inclusion?{query}")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error" and response.json()["detail"]


def test_an_independent_verifier_checks_the_live_log_through_http_only(token_client) -> None:
    client, _ = token_client("witness", "auditor")
    build_log((40, 75))

    summary = fetch_and_verify(_getter(client), samples=25, seed=7)

    # Its reads of entries are audited (audit.read) and join the log after the checkpoint it verified.
    assert summary["tree_size"] == AuditEntry.objects.exclude(action="audit.read").count()
    assert summary["inclusion_checked"] >= 25 and summary["consistency_checked"] >= 1


def test_the_export_is_a_bundle_and_is_itself_audited(token_client) -> None:
    client, _user = token_client("exporter", "auditor")
    append_entries(4)

    response = client.get("/api/v1/audit/export")
    content = b"".join(response.streaming_content)

    names = zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert response.status_code == 200
    assert {"audit/manifest.json", "audit/entries.jsonl", "audit/checkpoints.json", "audit/keys.txt"} <= set(
        names
    )
    assert AuditEntry.objects.filter(action="audit.export", actor_type="token").exists()
