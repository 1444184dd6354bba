"""``registry_lineage_ingest(plan jsonb)``: a whole OpenLineage event in one call on PostgreSQL.

The function lives in ``registry/sql/registry_lineage_ingest.sql`` (what it does is said there);
migration 0007 loads the same file again since the function queues its audit row through audit's
``audit_enqueue``.
"""

from django.db import migrations

from governance.core.postgres import postgres_only, sql_file

CREATE = sql_file(__file__, "registry_lineage_ingest.sql")
DROP = "DROP FUNCTION IF EXISTS registry_lineage_ingest(jsonb)"


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_model_alias"), ("audit", "0005_sequencer_release")]

    operations = [postgres_only(CREATE, DROP)]
