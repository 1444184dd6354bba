"""The audit committer's group commit (issue 18): ``audit_append`` takes arrays, so that one statement
queues many actions (one action outside a transaction passes one of each); ``audit_integrate_handed``,
which replaces ``audit_integrate_batch``, also integrates actions handed straight to the sequencer, which
never pass through the queue."""

from django.db import migrations

from governance.core.postgres import postgres_only, sql_file

_BATCH_DROP = (
    "DROP FUNCTION IF EXISTS"
    " audit_integrate_batch(bigint, text, bytea, bigint[], text, bigint[], bytea, integer)"
)
_HANDED_DROP = (
    "DROP FUNCTION IF EXISTS"
    " audit_integrate_handed(bigint, text, bytea, bigint[], timestamptz[], text, bigint[], bytea, integer)"
)


class Migration(migrations.Migration):
    dependencies = [("audit", "0009_one_statement_append")]

    operations = [
        postgres_only("DROP FUNCTION IF EXISTS audit_append(timestamptz, text, bigint)", "SELECT 1"),
        postgres_only(
            sql_file(__file__, "audit_append.sql"),
            "DROP FUNCTION IF EXISTS audit_append(timestamptz[], text[], bigint)",
        ),
        postgres_only(sql_file(__file__, "audit_integrate_handed.sql"), _HANDED_DROP),
        postgres_only(_BATCH_DROP, sql_file(__file__, "audit_integrate_batch.sql")),
    ]
