"""A PostgreSQL function that releases the sequencer lock and then looks at the queue.

One round trip instead of two. A VOLATILE PL/pgSQL function takes a fresh snapshot for each
statement it runs, so the queue is read after the unlock and sees every row committed before it.
"""

from django.db import migrations

from governance.core.postgres import postgres_only, sql_file

CREATE = sql_file(__file__, "audit_sequencer_release.sql")
DROP = "DROP FUNCTION IF EXISTS audit_sequencer_release(bigint)"


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_target_id_700")]

    operations = [postgres_only(CREATE, DROP)]
