"""The audit log in the database: gapless entries, append-only at every layer, signed checkpoints."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest
from django.db import DatabaseError, connection, transaction

from audit import selectors
from audit.checkpoint import Verifier, verify_checkpoint
from audit.checkpoints import checkpoint_create, log_verify
from audit.merkle import leaf_hash, root_from_leaf_hashes, verify_consistency, verify_inclusion
from audit.models import AppendOnlyError, AuditEntry
from tests.audit.factories import append_entries, build_log, trusted_vkey

pytestmark = pytest.mark.django_db


def test_entries_are_gapless_canonical_and_chained() -> None:
    append_entries(5)

    rows = list(AuditEntry.objects.order_by("index"))
    raw = [row.entry.encode() for row in rows]

    assert [row.index for row in rows] == list(range(len(rows)))
    for previous, current in itertools.pairwise(raw):
        assert json.loads(current)["prev"] == hashlib.sha256(previous).hexdigest()
    body = json.loads(raw[-1])
    assert list(body) == sorted(body)
    assert body["timestamp"].endswith("Z")
    assert set(body) >= {"v", "index", "timestamp", "actor", "action", "target", "data", "request_id", "prev"}


def test_the_model_refuses_to_update_or_delete_an_entry() -> None:
    append_entries(1)
    entry = AuditEntry.objects.first()

    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(index=entry.index).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET action = 'forged' WHERE \"index\" = 0",
        'DELETE FROM audit_auditentry WHERE "index" = 0',
        "UPDATE audit_auditnode SET hash = hash",
        "DELETE FROM audit_auditnode",
    ],
)
def test_sql_update_and_delete_on_audit_rows_fail_in_the_database(statement: str) -> None:
    append_entries(2)

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert AuditEntry.objects.filter(index=0).exclude(action="forged").exists()


def test_truncate_on_audit_rows_fails_on_postgresql(needs_postgres_db: None) -> None:
    append_entries(1)

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditentry CASCADE")


def test_a_checkpoint_is_a_signed_note_over_the_root_of_all_entries() -> None:
    append_entries(7)

    stored = checkpoint_create()
    checkpoint = verify_checkpoint(stored.note, [Verifier.parse(trusted_vkey())])
    leaves = [
        leaf_hash(text.encode())
        for text in AuditEntry.objects.order_by("index").values_list("entry", flat=True)
    ]

    assert checkpoint.size == 7
    assert checkpoint.root == root_from_leaf_hashes(leaves)


def test_proofs_from_the_stored_nodes_verify_against_checkpoints() -> None:
    store = build_log((13, 37))
    first, second = (verify_checkpoint(c.note, [Verifier.parse(trusted_vkey())]) for c in store.checkpoints())
    entries = list(AuditEntry.objects.order_by("index").values_list("entry", flat=True))

    for index in (0, 12, 36):
        proof = selectors.inclusion_proof_get(index=index, size=37)
        verify_inclusion(leaf_hash(entries[index].encode()), index, 37, proof, second.root)
    verify_consistency(13, 37, first.root, second.root, selectors.consistency_proof_get(first=13, second=37))


def test_the_live_log_verifies_and_a_checkpoint_without_new_entries_is_not_re_signed() -> None:
    store = build_log((5, 9))
    again = checkpoint_create(store=store)

    result = log_verify(store=store)

    assert again.size == 9 and len(store.checkpoints()) == 2
    assert result.ok, result.reason
    assert result.entries >= 9
