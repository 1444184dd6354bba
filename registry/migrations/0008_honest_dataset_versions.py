"""Honest versions (issue 19): an OpenLineage input sent without a version binds to the dataset's
newest version at the event's time, or to a recorded "unknown version" marker.

``DatasetVersion.event_time`` (when the producer says the version came to be) and ``unknown`` (the
marker), an index to find the newest version at a time, and the ingest function that binds inputs
(``registry/sql/registry_lineage_ingest.sql`` loaded again; ``CREATE OR REPLACE``). Rows stored before
keep their versions: inputs bound then were named after the reading run, and no data migration
renames them (event_time stays null; created_at stands in for it).
"""

import django.db.models.functions.comparison
from django.db import migrations, models

from governance.core.postgres import postgres_only, sql_file

CREATE = sql_file(__file__, "registry_lineage_ingest.sql")


class Migration(migrations.Migration):
    dependencies = [("registry", "0007_lineage_ingest_through_audit_enqueue")]

    operations = [
        migrations.AddField(
            model_name="datasetversion",
            name="event_time",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="unknown",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddIndex(
            model_name="datasetversion",
            index=models.Index(
                models.F("dataset"),
                models.OrderBy(
                    django.db.models.functions.comparison.Coalesce("event_time", "created_at"),
                    descending=True,
                ),
                models.OrderBy(models.F("id"), descending=True),
                name="dataset_version_as_of",
            ),
        ),
        postgres_only(CREATE, "SELECT 1"),
    ]
