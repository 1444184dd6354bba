"""``audit_integrate``: write one sequenced batch on PostgreSQL in a single statement.

The sequencer (``audit.services.audit_sequence``), holding its advisory lock, reads the head and the
queue, builds the entries and Merkle nodes, then calls this once with them as one JSON document: the
head moves, the entries and nodes are inserted and the integrated queue rows deleted, all in the
statement's one transaction.
Two guards make a mistake fail rather than fork the log: the head must still have the size the batch
was built on, and every queue row of the batch must still be there to delete.
"""

from django.db import migrations

from governance.core.postgres import postgres_only

CREATE = r"""
CREATE OR REPLACE FUNCTION audit_integrate(p jsonb) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_deleted bigint;
BEGIN
    UPDATE audit_audithead
    SET size = (p->>'size')::bigint, last_hash = p->>'last_hash',
        compact_range = decode(p->>'compact_range', 'hex'), updated_at = (p->>'updated_at')::timestamptz
    WHERE id = 1 AND size = (p->>'old_size')::bigint;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit head is no longer at size %; batch not written', p->>'old_size';
    END IF;
    INSERT INTO audit_auditentry
        ("index", "timestamp", actor_type, actor_id, action, target_type, target_id, request_id, entry)
    SELECT (e->>0)::bigint, (e->>1)::timestamptz, e->>2, e->>3, e->>4, e->>5, e->>6, e->>7, e->>8
    FROM jsonb_array_elements(p->'entries') AS e;
    INSERT INTO audit_auditnode (key, hash)
    SELECT (n->>0)::bigint, decode(n->>1, 'hex') FROM jsonb_array_elements(p->'nodes') AS n;
    DELETE FROM audit_auditpending
    WHERE id IN (SELECT q::bigint FROM jsonb_array_elements_text(p->'pending') AS q);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    IF v_deleted <> jsonb_array_length(p->'pending') THEN
        RAISE EXCEPTION 'audit queue rows already taken; batch not written';
    END IF;
END;
$$
"""
DROP = "DROP FUNCTION IF EXISTS audit_integrate(jsonb)"


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_sequencer_release")]

    operations = [postgres_only(CREATE, DROP)]
