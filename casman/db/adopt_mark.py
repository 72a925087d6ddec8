"""The mark of a file casman has checked, and the cheap test every open makes.

Kept apart from :mod:`casman.db.adopt` (the planner, ~25 ms to import) so that opening a
database casman created or already adopted imports nothing more: three small reads per file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from casman.db.schema import ASSEMBLY_DB, PARTS_DB, SCHEMA_VERSION, TABLES

ADOPTED_MARK = 0x43534D4E
"""``PRAGMA application_id`` of a file whose values casman has checked ("CSMN"): opening it
needs no look at its rows. Files casman creates carry it from the start."""


def quick_current(conn: sqlite3.Connection, schema: str, db_name: str) -> bool:
    """Marked, current schema version and every table there (raises sqlite3 errors)."""
    if int(conn.execute(f"PRAGMA {schema}.application_id").fetchone()[0]) != ADOPTED_MARK:
        return False
    if int(conn.execute(f"PRAGMA {schema}.user_version").fetchone()[0]) != SCHEMA_VERSION:
        return False
    present = {
        row[0]
        for row in conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")
    }
    return set(TABLES[db_name]) <= present


def directory_is_current(directory: Path) -> bool:
    """Whether both files in ``directory`` are there and casman's as they are (read-only:
    ``mode=ro`` creates and writes nothing). False also when a file cannot be read; the
    caller's opener then says what is wrong."""
    try:
        for name in (PARTS_DB, ASSEMBLY_DB):
            path = directory / name
            if not path.is_file():
                return False
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            try:
                if not quick_current(conn, "main", name):
                    return False
            finally:
                conn.close()
    except (sqlite3.Error, OSError):
        return False
    return True
