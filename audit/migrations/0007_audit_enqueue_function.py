"""``audit_enqueue``: the audit-owned door through which other apps' PostgreSQL functions queue an action."""

from django.db import migrations

from governance.core.postgres import postgres_only, sql_file


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_integrate_function")]

    operations = [
        postgres_only(
            sql_file(__file__, "audit_enqueue.sql"),
            "DROP FUNCTION IF EXISTS audit_enqueue(timestamptz, text)",
        )
    ]
