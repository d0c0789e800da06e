"""Append-only triggers, shared by the migrations that create immutable tables.

BEFORE UPDATE/DELETE triggers refuse to change a row (plus BEFORE TRUNCATE on PostgreSQL). On SQLite,
INSERT OR REPLACE deletes the old row without firing DELETE triggers unless the connection enables
``recursive_triggers``, so an insert over an existing key is refused outright too. Triggers stop bugs,
not a database superuser: signed checkpoints are what catch a rewritten history.
"""

from __future__ import annotations

from collections.abc import Mapping

REFUSE_FUNCTION = """
CREATE FUNCTION tanhui_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END $$
"""


def create_refuse_function(dialect: str) -> list[str]:
    return [REFUSE_FUNCTION] if dialect == "postgresql" else []


def drop_refuse_function(dialect: str) -> list[str]:
    return ["DROP FUNCTION IF EXISTS tanhui_refuse_change()"] if dialect == "postgresql" else []


def append_only(dialect: str, tables: Mapping[str, tuple[str, ...]]) -> list[str]:
    """Statements making each table (name → primary-key columns) append-only."""
    statements = []
    for table, key_columns in tables.items():
        if dialect == "postgresql":
            statements += [
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION tanhui_refuse_change()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION tanhui_refuse_change()",
            ]
            continue
        for operation in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
            )
        key = " AND ".join(f"{column} = NEW.{column}" for column in key_columns)
        statements.append(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {key}) "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: REPLACE refused'); END"
        )
    return statements


def drop_append_only(dialect: str, tables: Mapping[str, tuple[str, ...]]) -> list[str]:
    statements = []
    for table in tables:
        if dialect == "postgresql":
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            ]
        else:
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_{kind}" for kind in ("no_update", "no_delete", "no_replace")
            ]
    return statements
