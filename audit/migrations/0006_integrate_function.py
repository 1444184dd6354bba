"""``audit_integrate``: write one sequenced batch on PostgreSQL in a single statement.

The sequencer (``audit.services.audit_sequence``), holding its advisory lock, reads the head and the
queue, builds the entries and Merkle nodes, then calls this once: the head moves, the entries and
nodes are inserted and the integrated queue rows deleted, all in the statement's one transaction.
Two guards make a mistake fail rather than fork the log: the head must still have the size the batch
was built on, and every queue row of the batch must still be there to delete.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION audit_integrate(
    p_index bigint[], p_timestamp timestamptz[], p_actor_type text[], p_actor_id text[], p_action text[],
    p_target_type text[], p_target_id text[], p_request_id text[], p_entry text[],
    p_node_key bigint[], p_node_hash bytea[],
    p_old_size bigint, p_size bigint, p_last_hash text, p_compact_range bytea, p_updated_at timestamptz,
    p_pending bigint[]
) RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_deleted bigint;
BEGIN
    UPDATE audit_audithead
    SET size = p_size, last_hash = p_last_hash, compact_range = p_compact_range, updated_at = p_updated_at
    WHERE id = 1 AND size = p_old_size;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit head is no longer at size %; batch not written', p_old_size;
    END IF;
    INSERT INTO audit_auditentry
        ("index", "timestamp", actor_type, actor_id, action, target_type, target_id, request_id, entry)
    SELECT * FROM unnest(p_index, p_timestamp, p_actor_type, p_actor_id, p_action, p_target_type,
                         p_target_id, p_request_id, p_entry);
    INSERT INTO audit_auditnode (key, hash) SELECT * FROM unnest(p_node_key, p_node_hash);
    DELETE FROM audit_auditpending WHERE id = ANY (p_pending);
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    IF v_deleted <> cardinality(p_pending) THEN
        RAISE EXCEPTION 'audit queue rows already taken; batch not written';
    END IF;
END;
$$
"""
DROP = (
    "DROP FUNCTION IF EXISTS audit_integrate(bigint[], timestamptz[], text[], text[], text[], text[], text[],"
    " text[], text[], bigint[], bytea[], bigint, bigint, text, bytea, timestamptz, bigint[])"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)  # no placeholders: the % are PL/pgSQL's


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_sequencer_release")]

    operations = [migrations.RunPython(create, drop)]
