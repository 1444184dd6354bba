"""``audit_append``: an action recorded outside any transaction queues its row and learns whether a
sequencer is at work in one statement, one round trip (issue 18); ``audit_sequencer_release`` waits for
such statements in flight before its last look at the queue."""

from django.db import migrations

from governance.core.postgres import postgres_only, sql_file


class Migration(migrations.Migration):
    dependencies = [("audit", "0008_set_based_sequencer")]

    operations = [
        postgres_only(
            sql_file(__file__, "audit_append.sql"),
            "DROP FUNCTION IF EXISTS audit_append(timestamptz, text, bigint)",
        ),
        postgres_only(sql_file(__file__, "audit_sequencer_release.sql"), "SELECT 1"),
    ]
