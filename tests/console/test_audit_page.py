"""The audit log as pages: auditors browse and filter entries with people's names, open one to see its
inclusion proof checked on the server against the latest signed checkpoint, export the bundle with the
page's button and verify it with the command the page prints."""

from __future__ import annotations

import base64
import html
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit import selectors
from audit.actions import AuditAction
from audit.actors import Actor
from audit.checkpoint import verifier_key
from audit.checkpoints import checkpoint_create
from audit.merkle import leaf_hash
from audit.models import AuditEntry
from audit.services import Target, audit_record
from audit.store import CheckpointStore
from tests.audit.factories import append_entries
from tests.console.lists_factories import answers, page_client, page_clients
from tests.support import ROOT

pytestmark = pytest.mark.django_db


def _rows(page: str) -> list[str]:
    body = page.split('id="audit-entries"', 1)[1].split("</tbody>", 1)[0].split("<tbody>", 1)[1]
    return [row for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S) if 'class="empty"' not in row]


def _act_as(user: Any, count: int = 1, action: AuditAction = AuditAction.MODEL_CREATE) -> None:
    for n in range(count):
        audit_record(actor=Actor.for_user(user), action=action, target=Target.of("model", f"churn-{n}"))


def test_the_audit_pages_admit_auditors_officers_and_admins_only(make_user: Any) -> None:
    append_entries(3)
    expected = {
        "data_scientist": 403,
        "compliance_officer": 200,
        "auditor": 200,
        "pipeline": 403,
        "admin": 200,
        "anonymous": 302,
    }
    clients = page_clients(make_user)
    assert answers(clients, "/audit/") == expected
    assert answers(clients, "/audit/1/") == expected


def test_an_auditor_sees_peoples_names_beside_their_pseudonymous_ids(make_user: Any) -> None:
    dana = make_user("dana", "data_scientist", full_name="Dana Scientist")
    _act_as(dana)
    page = page_client(make_user, "auditor").get("/audit/?action=model.create").content.decode()
    rows = _rows(page)
    assert len(rows) == 1
    assert f"Dana Scientist (user {dana.pk})" in rows[0]


def test_entries_page_newest_first_and_filter_by_action_actor_target_and_time(make_user: Any) -> None:
    dana = make_user("dana", "data_scientist", full_name="Dana Scientist")
    append_entries(110)
    _act_as(dana, 3)
    client = page_client(make_user, "compliance_officer")
    size = selectors.tree_size()  # what the page shows: its own read (audit.read) is appended after
    first = client.get("/audit/").content.decode()
    assert f"{size} found, page 1 of {-(-size // 50)}" in first
    assert f'href="/audit/{size - 1}/"' in _rows(first)[0]
    oldest = _rows(client.get("/audit/?sort=index").content.decode())
    assert 'href="/audit/0/"' in oldest[0]
    assert len(_rows(client.get("/audit/?action=model.create").content.decode())) == 3
    assert len(_rows(client.get("/audit/?actor=Dana").content.decode())) == 3
    assert len(_rows(client.get(f"/audit/?actor=user:{dana.pk}").content.decode())) == 3
    assert len(_rows(client.get("/audit/?target_type=model&target_id=churn-1").content.decode())) == 1
    stamp = AuditEntry.objects.get(action="model.create", target_id="churn-0").timestamp
    since = stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert len(_rows(client.get(f"/audit/?since={since}&action=model.create").content.decode())) == 3
    assert _rows(client.get(f"/audit/?until={since}&action=model.create").content.decode()) == []
    bad = client.get("/audit/?since=yesterday")
    assert bad.status_code == 400 and _rows(bad.content.decode()) == []


def test_the_entry_list_reads_a_page_in_a_fixed_number_of_queries(
    make_user: Any, django_assert_max_num_queries: Any
) -> None:
    people = [make_user(f"person-{n}", "data_scientist") for n in range(5)]
    for person in people:
        _act_as(person, 12)
    client = page_client(make_user, "auditor")
    client.get("/audit/")
    # 10 for the page, and its own audit.read entry: the enqueue and (tests run on_commit work at once)
    # the sequencer, savepoints included.
    with django_assert_max_num_queries(10 + 12):
        page = client.get("/audit/").content.decode()
    assert len(_rows(page)) == 50


def test_an_entry_shows_its_inclusion_proof_verified_against_the_latest_checkpoint(make_user: Any) -> None:
    append_entries(20)
    checkpoint_create()
    append_entries(5)  # after the checkpoint: the page signs a new one that covers them
    index = selectors.tree_size() - 2
    client = page_client(make_user, "auditor")
    size = selectors.tree_size()  # what the page proves against: its own read (audit.read) comes after
    page = client.get(f"/audit/{index}/").content.decode()
    entry = AuditEntry.objects.get(index=index)
    leaf = base64.b64encode(leaf_hash(entry.entry.encode())).decode()
    assert 'id="proof-result"' in page and "<strong>Verified</strong>" in page
    assert f'<dd id="proof-tree-size">{size}</dd>' in page
    assert leaf in page
    proof = selectors.inclusion_proof_get(index=index, size=size)
    assert all(base64.b64encode(node).decode() in page for node in proof)
    note = CheckpointStore().latest()
    assert note is not None and html.escape(note.note.splitlines()[0]) in page


def test_an_entry_under_a_checkpoint_the_published_keys_do_not_sign_is_not_verified(make_user: Any) -> None:
    append_entries(4)
    checkpoint_create()
    store = CheckpointStore()
    stranger = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store.write_key_lines([f"{verifier_key('someone-else', stranger)} valid_from=2026-01-01T00:00:00Z"])
    page = page_client(make_user, "auditor").get("/audit/2/").content.decode()
    assert "<strong>Not verified</strong>" in page
    assert "does not verify with the published keys" in page


def test_the_export_button_gives_a_bundle_that_the_printed_command_verifies(
    make_user: Any, tmp_path: Path
) -> None:
    append_entries(8)
    client = page_client(make_user, "auditor")
    page = client.get("/audit/").content.decode()
    export = re.search(r'<a href="([^"]+)" class="button" id="audit-export"', page)
    assert export is not None and export.group(1) == "/api/v1/audit/export"
    command = html.unescape(re.search(r'id="audit-verify-command"><code>(.*?)</code>', page).group(1))  # type: ignore[union-attr]
    response = client.get(export.group(1))
    assert response.status_code == 200
    bundle = tmp_path / "audit-bundle.zip"
    bundle.write_bytes(b"".join(response.streaming_content))
    words = shlex.split(command)
    assert words[:4] == ["python", "-m", "audit.verify", "audit-bundle.zip"]
    # The command the page prints, run on the bundle the page exported.
    result = subprocess.run(
        [sys.executable, *words[1:3], str(bundle), *words[4:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK:")


def test_a_missing_entry_is_a_404(make_user: Any) -> None:
    append_entries(2)
    assert page_client(make_user, "auditor").get("/audit/999999/").status_code == 404
