"""Reading the live tables in the fold's shape, and installing a fold into them.

Installing happens in one ``BEGIN IMMEDIATE`` transaction of the connection every command
uses, with capture off (these rows come from records; they are no new change), so a scan
session that is open meanwhile waits on the lock and then sees the new state, and a crash
leaves the old state or the new one, never a mix. Only tables whose rows differ are
rewritten.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from casman.db import capture
from casman.db import records as record_store
from casman.db.capture import SCHEMAS
from casman.domain.record_tables import AUTOINCREMENT_TABLES, COLUMNS, ID_TABLES, KEY_SQL, TABLES
from casman.domain.records import ChangeRecord, natural_key
from casman.sync.fold import FoldResult
from casman.sync.fold.apply import Row, Tables


def _columns(table: str) -> tuple[str, ...]:
    return (("id",) if table in ID_TABLES else ()) + COLUMNS[table]


def live_rows(conn: sqlite3.Connection, table: str) -> list[Row]:
    columns = _columns(table)
    order = "id" if table in ID_TABLES else "grid_code"
    cursor = conn.execute(
        f"SELECT {', '.join(columns)} FROM {SCHEMAS[table]}.{table} ORDER BY {order}"
    )
    return [dict(zip(columns, row, strict=True)) for row in cursor]


def live_tables(conn: sqlite3.Connection) -> dict[str, list[Row]]:
    return {table: live_rows(conn, table) for table in TABLES}


def folded_tables(result: FoldResult) -> dict[str, list[Row]]:
    return {table: result.tables.ordered(table) for table in TABLES}


def _rewrite(conn: sqlite3.Connection, table: str, rows: Iterable[Row]) -> None:
    columns = _columns(table)
    target = f"{SCHEMAS[table]}.{table}"
    conn.execute(f"DELETE FROM {target}")
    marks = ", ".join("?" for _ in columns)
    conn.executemany(
        f"INSERT INTO {target} ({', '.join(columns)}) VALUES ({marks})",
        [tuple(row[c] for c in columns) for row in rows],
    )


def _set_sequences(conn: sqlite3.Connection, result: FoldResult) -> None:
    for table in AUTOINCREMENT_TABLES:
        seq = result.tables.sequence.get(table, 0)
        conn.execute("DELETE FROM main.sqlite_sequence WHERE name = ?", (table,))
        if seq:
            conn.execute("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)", (table, seq))


def install_fold(
    conn: sqlite3.Connection, new_records: Iterable[ChangeRecord], result: FoldResult
) -> list[str]:
    """Store ``new_records`` and make the tables what ``result`` says, inside the caller's
    write transaction; returns the tables that changed."""
    record_store.ensure_tables(conn)
    record_store.insert_records(conn, new_records)
    capture.set_capture(conn, False)
    changed: list[str] = []
    try:
        wanted = folded_tables(result)
        for table in TABLES:
            if live_rows(conn, table) != wanted[table]:
                _rewrite(conn, table, wanted[table])
                changed.append(table)
        _set_sequences(conn, result)
        record_store.replace_heads(conn, result.heads)
    finally:
        capture.set_capture(conn, True)
    return changed


def load_tables(conn: sqlite3.Connection) -> Tables:
    """The live tables as the fold's :class:`Tables` (valid because the live tables are the
    fold of the site's records): reads rows, never records."""
    tables = Tables()
    for table in TABLES:
        rows = live_rows(conn, table)
        if table == "assembly":
            tables.log = rows
            continue
        for row in rows:
            tables.remember(table, natural_key(table, row), row)
    for name, seq in conn.execute("SELECT name, seq FROM main.sqlite_sequence"):
        if name in AUTOINCREMENT_TABLES:
            tables.sequence[name] = max(tables.sequence.get(name, 0), int(seq))
    return tables


def write_touched(
    conn: sqlite3.Connection, tables: Tables, touched: dict[str, set[str]], log_from: int
) -> list[str]:
    """Write the rows of ``touched`` keys and the log events from id ``log_from`` on."""
    changed: list[str] = []
    for table, keys in touched.items():
        if not keys or table == "assembly":
            continue
        target = f"{SCHEMAS[table]}.{table}"
        where = KEY_SQL[table].format(r=table)
        columns = _columns(table)
        marks = ", ".join("?" for _ in columns)
        for key in keys:
            conn.execute(f"DELETE FROM {target} WHERE {where} = ?", (key,))
        rows = [tables.rows[table][key] for key in keys if key in tables.rows[table]]
        conn.executemany(
            f"INSERT INTO {target} ({', '.join(columns)}) VALUES ({marks})",
            [tuple(row[c] for c in columns) for row in rows],
        )
        changed.append(table)
    if len(tables.log) >= log_from:
        _rewrite_from(conn, tables.log[log_from - 1 :], log_from)
        changed.append("assembly")
    for table in AUTOINCREMENT_TABLES:
        seq = tables.sequence.get(table, 0)
        conn.execute("DELETE FROM main.sqlite_sequence WHERE name = ?", (table,))
        if seq:
            conn.execute("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)", (table, seq))
    return changed


def _rewrite_from(conn: sqlite3.Connection, events: list[Row], first_id: int) -> None:
    columns = _columns("assembly")
    marks = ", ".join("?" for _ in columns)
    conn.execute("DELETE FROM asm.assembly WHERE id >= ?", (first_id,))
    conn.executemany(
        f"INSERT INTO asm.assembly ({', '.join(columns)}) VALUES ({marks})",
        [tuple(row[c] for c in columns) for row in events],
    )
