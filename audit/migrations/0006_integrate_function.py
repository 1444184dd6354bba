"""``audit_integrate``: write one sequenced batch on PostgreSQL in a single statement.

The sequencer (``audit.services.audit_sequence``), holding its advisory lock, reads the head and the
queue, builds the entries and Merkle nodes, then calls this once with them as one JSON document: the
head moves, the entries and nodes are inserted and the integrated queue rows deleted, all in the
statement's one transaction.
Two guards make a mistake fail rather than fork the log: the head must still have the size the batch
was built on, and every queue row of the batch must still be there to delete.
"""

from django.db import migrations

from governance.core.postgres import postgres_only, sql_file

CREATE = sql_file(__file__, "audit_integrate.sql")
DROP = "DROP FUNCTION IF EXISTS audit_integrate(jsonb)"


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_sequencer_release")]

    operations = [postgres_only(CREATE, DROP)]
