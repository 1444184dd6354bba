"""The consent ledger refuses UPDATE and DELETE below Django too (GDPR Art. 7(1): consent stays
demonstrable). Row triggers only: TRUNCATE, which test databases use to reset, stays possible."""

from __future__ import annotations

from django.db import migrations

TABLE = "consent_consentevent"

PG_UP = [
    """
    CREATE OR REPLACE FUNCTION consent_ledger_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the consent ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION consent_ledger_refuse_change();",
]
PG_DOWN = [f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};", "DROP FUNCTION IF EXISTS consent_ledger_refuse_change();"]
SQLITE_UP = [
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_{op.lower()} BEFORE {op} ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only: {op} on {TABLE} refused'); END;"
    for op in ("UPDATE", "DELETE")
]
SQLITE_DOWN = [f"DROP TRIGGER IF EXISTS {TABLE}_no_{op};" for op in ("update", "delete")]


def _run(schema_editor, statements):
    # A cursor without parameters: the function body's "%" are not placeholders.
    with schema_editor.connection.cursor() as cursor:
        for statement in statements.get(schema_editor.connection.vendor, []):
            cursor.execute(statement)


def install(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_UP, "sqlite": SQLITE_UP})


def remove(apps, schema_editor):
    _run(schema_editor, {"postgresql": PG_DOWN, "sqlite": SQLITE_DOWN})


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
