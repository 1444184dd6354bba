"""The sequencer's PostgreSQL functions at group-commit speed (issue 18).

``audit_integrate_batch`` writes a batch set-based from arrays and one text of entry lines (no per-entry
JSON document to build and parse), then reads the next batch, so a sequencer holding the lock spends one
round trip per batch. ``audit_sequencer_release`` looks at the queue by its primary key. The jsonb
``audit_integrate`` it replaces is dropped.
"""

from django.db import migrations

from governance.core.postgres import postgres_only, sql_file

_BATCH_DROP = (
    "DROP FUNCTION IF EXISTS"
    " audit_integrate_batch(bigint, text, bytea, bigint[], text, bigint[], bytea, integer)"
)


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_audit_enqueue_function")]

    operations = [
        postgres_only(sql_file(__file__, "audit_integrate_batch.sql"), _BATCH_DROP),
        postgres_only(sql_file(__file__, "audit_sequencer_release.sql"), "SELECT 1"),
        postgres_only(
            "DROP FUNCTION IF EXISTS audit_integrate(jsonb)", sql_file(__file__, "audit_integrate.sql")
        ),
    ]
