"""Lineage ingestion on PostgreSQL queues its audit row through audit's ``audit_enqueue`` instead of
inserting into audit's queue table itself: only audit writes audit tables.

Loads ``registry/sql/registry_lineage_ingest.sql`` again (``CREATE OR REPLACE``; migration 0003 loads
the same file on a new database). Going back leaves the function as it is.
"""

from django.db import migrations

from governance.core.postgres import postgres_only, sql_file

CREATE = sql_file(__file__, "registry_lineage_ingest.sql")


class Migration(migrations.Migration):
    dependencies = [("registry", "0006_risk_classification"), ("audit", "0007_audit_enqueue_function")]

    operations = [postgres_only(CREATE, "SELECT 1")]
