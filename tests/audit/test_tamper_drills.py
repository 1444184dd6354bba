"""Tampering drills on a real database, the triggers dropped as a rogue DBA would: both verifiers
(the live `manage.py audit verify` and the offline `python -m audit.verify`) catch every case and name
the first bad index."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from audit import triggers
from audit.checkpoint import Checkpoint, Ed25519Signer, sign_checkpoint
from audit.checkpoints import log_verify
from audit.jcs import canonical_json
from audit.merkle import leaf_hash, root_from_leaf_hashes
from audit.store import CheckpointStore
from tests.audit.factories import build_log, bundle_from_database, offline_verify, trusted_vkey

pytestmark = pytest.mark.django_db

SIZE = 30


def _sql(statement: str, params: list[object] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def _entry(index: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute('SELECT entry FROM audit_auditentry WHERE "index" = %s', [index])
        return str(cursor.fetchone()[0])


def _set_entry(index: int, text: str) -> None:
    _sql('UPDATE audit_auditentry SET entry = %s WHERE "index" = %s', [text, index])


def change_one_byte(store: CheckpointStore) -> int:
    text = _entry(17)
    _set_entry(17, text.replace('"n":', '"m":', 1))
    return 17


def delete_one(store: CheckpointStore) -> int:
    _sql('DELETE FROM audit_auditentry WHERE "index" = 11')
    return 11


def insert_one(store: CheckpointStore) -> int:
    # Shift the rows from 8 up by one (highest first, to keep the key unique) and forge index 8.
    for index in range(SIZE - 1, 7, -1):
        _sql('UPDATE audit_auditentry SET "index" = %s WHERE "index" = %s', [index + 1, index])
    forged = json.loads(_entry(7))
    forged.update(index=8, action="user.create", prev=hashlib.sha256(_entry(7).encode()).hexdigest())
    columns = "timestamp, actor_type, actor_id, action, target_type, target_id, request_id"
    _sql(
        f'INSERT INTO audit_auditentry ("index", {columns}, entry) '  # noqa: S608 (fixed column names)
        f'SELECT 8, {columns}, %s FROM audit_auditentry WHERE "index" = 7',
        [canonical_json(forged).decode()],
    )
    return 8


def swap_two(store: CheckpointStore) -> int:
    first, second = _entry(4), _entry(21)
    _set_entry(4, second)
    _set_entry(21, first)
    return 4


def truncate_tail(store: CheckpointStore) -> int:
    _sql('DELETE FROM audit_auditentry WHERE "index" >= 25')
    return 25


def rewrite_tail_and_re_sign(store: CheckpointStore) -> int:
    """Rewrite entries 22.. with a consistent chain, then sign a checkpoint of the result with another key."""
    texts = [_entry(index) for index in range(SIZE)]
    for index in range(22, SIZE):
        body = json.loads(texts[index])
        body["data"] = {"n": -index}
        body["prev"] = hashlib.sha256(texts[index - 1].encode()).hexdigest()
        texts[index] = canonical_json(body).decode()
        _set_entry(index, texts[index])
    root = root_from_leaf_hashes([leaf_hash(text.encode()) for text in texts])
    from django.conf import settings

    rogue = Ed25519Signer.generate(settings.AUDIT_LOG_ORIGIN)
    store.write_checkpoint(
        SIZE + 0, sign_checkpoint(Checkpoint(settings.AUDIT_LOG_ORIGIN, SIZE, root), [rogue])
    )
    return 22


DRILLS: list[Callable[[CheckpointStore], int]] = [
    change_one_byte,
    delete_one,
    insert_one,
    swap_two,
    truncate_tail,
    rewrite_tail_and_re_sign,
]


@pytest.mark.parametrize("drill", DRILLS, ids=lambda drill: drill.__name__)
def test_both_verifiers_name_the_first_bad_index(
    drill: Callable[[CheckpointStore], int], tmp_path: Path
) -> None:
    store = build_log((10, 20, SIZE))
    vkey = trusted_vkey()
    assert log_verify(store=store).ok
    triggers.remove(connection)

    bad_index = drill(store)

    live = log_verify(store=store)
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("audit", "verify", stdout=out)
    offline = offline_verify(bundle_from_database(tmp_path / "bundle.zip", store), vkey)

    assert not live.ok and live.first_bad_index == bad_index, live
    assert exited.value.code == 1 and f"first bad index {bad_index}" in out.getvalue()
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert f"first bad index {bad_index}" in offline.stdout, offline.stdout


def test_the_periodic_check_raises_an_alert_in_the_log_and_the_audit_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from audit.checkpoints import log_verify_and_alert
    from audit.models import AuditEntry

    store = build_log((10, 20, SIZE))
    triggers.remove(connection)
    change_one_byte(store)

    result = log_verify_and_alert(store=store)

    alert = AuditEntry.objects.filter(action="audit.verify_failed").get()
    assert not result.ok
    assert json.loads(alert.entry)["data"]["first_bad_index"] == 17
    assert "audit log verification failed" in caplog.text


def test_an_untampered_export_verifies_offline_and_a_flipped_byte_fails(tmp_path: Path) -> None:
    build_log((10, 20))
    out = tmp_path / "audit.zip"
    call_command("audit", "export", "--out", str(out), stdout=StringIO())
    vkey = trusted_vkey()

    good = offline_verify(out, vkey)
    data = bytearray(out.read_bytes())
    data[len(data) // 3] ^= 0x01
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(data))
    bad = offline_verify(flipped, vkey)

    assert good.returncode == 0 and good.stdout.startswith("OK:"), good.stdout + good.stderr
    assert bad.returncode == 1 and bad.stdout.startswith("FAIL"), bad.stdout + bad.stderr


def test_a_partial_bundle_proves_chosen_entries_offline_and_a_flipped_entry_fails(tmp_path: Path) -> None:
    from audit.exporting import audit_proof_bundle

    build_log((10, 20))
    out = tmp_path / "report.zip"
    audit_proof_bundle(out=out, indices=[3, 11, 17])
    unattested = tmp_path / "unattested.zip"
    audit_proof_bundle(out=unattested, indices=[3], extra_files={"report.json": b"{}"})
    vkey = trusted_vkey()

    good = offline_verify(out, vkey)
    stray = offline_verify(unattested, vkey)
    import zipfile

    with zipfile.ZipFile(out) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    lines = members["audit/entries.jsonl"].split(b"\n")
    lines = [
        line.replace(b'"data":{"n":', b'"data":{"m":') if b'"index":11,' in line else line for line in lines
    ]
    members["audit/entries.jsonl"] = b"\n".join(lines)
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    bad = offline_verify(forged, vkey)

    assert good.returncode == 0 and good.stdout.startswith("OK:"), good.stdout + good.stderr
    assert stray.returncode == 1 and "no entry attests" in stray.stdout
    assert bad.returncode == 1 and "first bad index 11" in bad.stdout, bad.stdout
