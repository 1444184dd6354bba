"""``audit_integrate_handed`` parses each entry once to fill the filter columns (issue 18): the same
function, signature and columns; only how the columns are read from the entry changes (see
audit/sql/audit_integrate_handed.sql, which 0010 also loads, so a new database has it from there).
Reversing leaves it in place: 0010's version wrote the same columns, only slower."""

from django.db import migrations

from governance.core.postgres import postgres_only, sql_file


class Migration(migrations.Migration):
    dependencies = [("audit", "0010_append_many")]

    operations = [
        postgres_only(sql_file(__file__, "audit_integrate_handed.sql"), "SELECT 1"),
    ]
