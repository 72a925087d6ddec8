"""Capturing the rows a transaction writes, with TEMP triggers (see :mod:`casman.db.records`).

Installed on every connection casman opens, reading commands included, so it imports only
the table constants: opening a database must cost no more than SQLite itself.
"""

from __future__ import annotations

import sqlite3

from casman.domain.record_tables import COLUMNS, ID_TABLES, KEY_SQL

SCHEMAS = {
    "parts": "main",
    "antenna_positions": "main",
    "snap_boards": "main",
    "grid_positions": "main",
    "assembly": "asm",
}


def _row_json(table: str, alias: str) -> str:
    columns = (("id",) if table in ID_TABLES else ()) + COLUMNS[table]
    pairs = ", ".join(f"'{c}', {alias}.{c}" for c in columns)
    return f"json_object({pairs})"


def _capture_ddl() -> list[str]:
    ddl = [
        "CREATE TEMP TABLE IF NOT EXISTS casman_pending ("
        " n INTEGER PRIMARY KEY, tbl TEXT, action TEXT, key TEXT, row TEXT)",
        "CREATE TEMP TABLE IF NOT EXISTS casman_capture (active INTEGER NOT NULL)",
        "INSERT INTO temp.casman_capture SELECT 1 WHERE NOT EXISTS"
        " (SELECT 1 FROM temp.casman_capture)",
    ]
    when = "WHEN (SELECT active FROM casman_capture)"
    for table, schema in SCHEMAS.items():
        new_key = KEY_SQL[table].format(r="NEW")
        old_key = KEY_SQL[table].format(r="OLD")
        target = f"{schema}.{table}"
        insert = "INSERT INTO casman_pending (tbl, action, key, row) VALUES"
        ddl += [
            f"CREATE TEMP TRIGGER IF NOT EXISTS casman_ins_{table} AFTER INSERT ON {target}"
            f" {when} BEGIN {insert} ('{table}', 'insert', {new_key},"
            f" {_row_json(table, 'NEW')}); END",
            f"CREATE TEMP TRIGGER IF NOT EXISTS casman_upd_{table} AFTER UPDATE ON {target}"
            f" {when} BEGIN {insert} ('{table}', 'update', {old_key},"
            f" {_row_json(table, 'NEW')}); END",
            f"CREATE TEMP TRIGGER IF NOT EXISTS casman_del_{table} AFTER DELETE ON {target}"
            f" {when} BEGIN {insert} ('{table}', 'delete', {old_key}, NULL); END",
        ]
    return ddl


CAPTURE_DDL = tuple(_capture_ddl())


def install_capture(conn: sqlite3.Connection) -> None:
    """Make this connection note every row it writes (TEMP objects: nothing in the files)."""
    for statement in CAPTURE_DDL:
        conn.execute(statement)


def set_capture(conn: sqlite3.Connection, active: bool) -> None:
    conn.execute("UPDATE temp.casman_capture SET active = ?", (1 if active else 0,))
