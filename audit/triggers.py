"""Append-only enforcement below Django: triggers that refuse UPDATE, DELETE (and TRUNCATE) on the
audit tables, on PostgreSQL and on SQLite. Used by migration 0002; tests and tamper drills drop them
the way a rogue DBA would, to prove that verification still catches what they then do.
"""

from __future__ import annotations

from typing import Any

TABLES = ("audit_auditentry", "audit_auditnode")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def create_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        statements = [_PG_FUNCTION]
        for table in TABLES:
            statements += [
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();",
            ]
        return statements
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {op} on {table} refused'); END;"
            for table in TABLES
            for op in ("UPDATE", "DELETE")
        ]
    raise NotImplementedError(f"no append-only triggers for database vendor {vendor!r}")


def drop_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        statements = []
        for table in TABLES:
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};",
            ]
        return statements
    return [f"DROP TRIGGER IF EXISTS {table}_no_{op};" for table in TABLES for op in ("update", "delete")]


def install(connection: Any) -> None:
    with connection.cursor() as cursor:
        for statement in create_sql(connection.vendor):
            cursor.execute(statement)


def remove(connection: Any) -> None:
    with connection.cursor() as cursor:
        for statement in drop_sql(connection.vendor):
            cursor.execute(statement)
