"""The databases carry exactly the DDL of spec/database.md."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from casman.db.connection import DatabaseFileError, open_databases
from casman.db.schema import SCHEMA_VERSION

# Copied verbatim from spec/database.md (not from casman's code).
SPEC_DDL = {
    ("parts.db", "parts"): """CREATE TABLE parts (
    id INTEGER PRIMARY KEY,
    part_number TEXT UNIQUE,
    part_type TEXT,
    polarization TEXT,
    date_created TEXT,
    date_modified TEXT
)""",
    ("parts.db", "antenna_positions"): """CREATE TABLE antenna_positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    antenna_number TEXT UNIQUE NOT NULL,
    array_id TEXT NOT NULL,
    row_offset INTEGER NOT NULL CHECK(row_offset BETWEEN -999 AND 999),
    east_col INTEGER NOT NULL CHECK(east_col BETWEEN 0 AND 99),
    grid_code TEXT UNIQUE NOT NULL,
    assigned_at TEXT NOT NULL,
    notes TEXT,
    latitude REAL,
    longitude REAL,
    height REAL,
    coordinate_system TEXT,
    UNIQUE(array_id, row_offset, east_col)
)""",
    ("parts.db", "snap_boards"): """CREATE TABLE snap_boards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chassis INTEGER NOT NULL CHECK(chassis BETWEEN 1 AND 4),
    slot TEXT NOT NULL CHECK(slot IN ('A','B','C','D','E','F','G','H','I','J','K')),
    serial_number TEXT UNIQUE NOT NULL,
    mac_address TEXT UNIQUE NOT NULL,
    ip_address TEXT UNIQUE NOT NULL,
    feng_id INTEGER UNIQUE NOT NULL CHECK(feng_id BETWEEN 0 AND 43),
    notes TEXT,
    date_added TEXT NOT NULL,
    date_modified TEXT,
    UNIQUE(chassis, slot)
)""",
    ("assembled_casm.db", "assembly"): """CREATE TABLE assembly (
    id INTEGER PRIMARY KEY,
    part_number TEXT,
    part_type TEXT,
    polarization TEXT,
    scan_time TEXT,
    connected_to TEXT,
    connected_to_type TEXT,
    connected_polarization TEXT,
    connected_scan_time TEXT,
    connection_status TEXT DEFAULT 'connected'
)""",
}


def _normalise(sql: str) -> str:
    sql = re.sub(r"\s+", " ", sql).strip()
    return sql.replace("IF NOT EXISTS ", "").replace("( ", "(").replace(" )", ")")


def test_tables_have_the_spec_ddl(tmp_path: Path) -> None:
    open_databases(tmp_path).close()
    for (db_name, table), ddl in SPEC_DDL.items():
        conn = sqlite3.connect(tmp_path / db_name)
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (table,)
        ).fetchone()
        conn.close()
        stored = re.sub(r"^CREATE TABLE \S+\.", "CREATE TABLE ", _normalise(sql))
        assert stored == _normalise(ddl)


def test_grid_positions_table_and_schema_version(tmp_path: Path) -> None:
    open_databases(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "parts.db")
    columns = [row[1] for row in conn.execute("PRAGMA table_info(grid_positions)")]
    assert columns == ["grid_code", "latitude", "longitude", "height", "coordinate_system", "notes"]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    conn = sqlite3.connect(tmp_path / "assembled_casm.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_constraints_are_enforced_by_sqlite(tmp_path: Path) -> None:
    conn = open_databases(tmp_path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO snap_boards (chassis, slot, serial_number, mac_address, ip_address,"
            " feng_id, date_added) VALUES (5, 'A', 's', 'm', 'i', 0, 'now')"
        )
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO antenna_positions (antenna_number, array_id, row_offset, east_col,"
            " grid_code, assigned_at) VALUES ('ANT00001', 'C', 1000, 0, 'x', 'now')"
        )
    conn.close()


def test_existing_tables_of_an_older_file_are_kept(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "parts.db")
    conn.execute(SPEC_DDL[("parts.db", "parts")])
    conn.execute("INSERT INTO parts (part_number) VALUES ('ANT00001P1')")
    conn.commit()
    conn.close()
    reopened = open_databases(tmp_path)
    assert reopened.execute("SELECT part_number FROM parts").fetchall()[0][0] == "ANT00001P1"
    reopened.close()


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "parts.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseFileError, match="not a readable SQLite database"):
        open_databases(tmp_path)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "parts.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(DatabaseFileError, match="newer"):
        open_databases(tmp_path)
