"""A PostgreSQL function that releases the sequencer lock and then looks at the queue.

One round trip instead of two. A VOLATILE PL/pgSQL function takes a fresh snapshot for each
statement it runs, so the queue is read after the unlock and sees every row committed before it.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_sequencer_release(lock_key bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_unlock(lock_key);
    RETURN EXISTS (SELECT 1 FROM audit_auditpending);
END;
$$
"""
DROP = "DROP FUNCTION IF EXISTS audit_sequencer_release(bigint)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_target_id_700")]

    operations = [migrations.RunPython(create, drop)]
