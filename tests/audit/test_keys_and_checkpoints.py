"""Key rotation keeps old checkpoints verifiable; a checkpoint is signed only if it extends the last."""

from __future__ import annotations

import pytest
from django.db import connection

from audit import triggers
from audit.checkpoint import Verifier
from audit.checkpoints import CheckpointRefused, checkpoint_create, log_verify
from audit.keys import write_new_key
from audit.models import AuditEntry, AuditNode
from audit.store import CheckpointStore
from tests.audit.factories import append_entries, build_log

pytestmark = pytest.mark.django_db


def test_a_rotated_key_is_published_and_both_keys_verify_their_checkpoints(
    settings, tmp_path, client
) -> None:
    store = build_log((5,))
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "new-key.pem"
    new_signer = write_new_key(settings.AUDIT_SIGNING_KEY_FILE)
    append_entries(3)

    checkpoint_create(store=store)

    lines = store.key_lines()
    published = client.get("/api/v1/audit/public-key").content.decode().splitlines()
    assert len(lines) == 2 and "valid_until=" in lines[0] and "valid_until=" not in lines[1]
    assert lines[1].split()[0] == new_signer.verifier_key
    assert published == lines
    assert AuditEntry.objects.filter(action="audit.key_rotate").count() == 1
    result = log_verify(store=store)
    assert result.ok, result.reason
    assert result.checkpoints_verified == 2
    assert [Verifier.parse(line.split()[0]).name for line in lines] == [settings.AUDIT_LOG_ORIGIN] * 2


def test_a_checkpoint_is_not_signed_over_a_rewritten_past() -> None:
    store = build_log((10,))
    triggers.remove(connection)
    with connection.cursor() as cursor:
        # The subtree over entries 0..7, which every later proof and root builds on.
        cursor.execute(
            "UPDATE audit_auditnode SET hash = %s WHERE key = %s", [b"\x00" * 32, AuditNode.key_for(3, 0)]
        )
    append_entries(2)

    with pytest.raises(CheckpointRefused, match="does not extend checkpoint 10"):
        checkpoint_create(store=store)

    assert CheckpointStore().latest().size == 10
