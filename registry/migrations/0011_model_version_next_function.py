"""``registry_model_version_next`` (``registry/sql/registry_model_version_next.sql``): on PostgreSQL a
registration locks its model's row and reads the next version number in one round trip instead of two.
SQLite keeps the two statements (``registry.services.model_versions._number_locked``)."""

from django.db import migrations

from governance.core.postgres import postgres_only, sql_file

CREATE = sql_file(__file__, "registry_model_version_next.sql")


class Migration(migrations.Migration):
    dependencies = [("registry", "0010_data_quality_and_bias")]

    operations = [postgres_only(CREATE, "DROP FUNCTION IF EXISTS registry_model_version_next(bigint)")]
