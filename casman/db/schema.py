"""The exact DDL of spec/database.md, plus the ``grid_positions`` table of DESIGN.md.

``PRAGMA user_version`` records the schema version so later releases can migrate. The
indexes are additions for speed; they do not change any table's columns or constraints.
"""

from __future__ import annotations

PARTS_DB = "parts.db"
ASSEMBLY_DB = "assembled_casm.db"
DATABASE_NAMES = (PARTS_DB, ASSEMBLY_DB)
SCHEMA_VERSION = 1

PARTS_TABLE = """CREATE TABLE parts (
    id INTEGER PRIMARY KEY,
    part_number TEXT UNIQUE,
    part_type TEXT,
    polarization TEXT,
    date_created TEXT,
    date_modified TEXT
)"""

ANTENNA_POSITIONS_TABLE = """CREATE TABLE antenna_positions (
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
)"""

SNAP_BOARDS_TABLE = """CREATE TABLE snap_boards (
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
)"""

GRID_POSITIONS_TABLE = """CREATE TABLE grid_positions (
    grid_code TEXT PRIMARY KEY,
    latitude REAL,
    longitude REAL,
    height REAL,
    coordinate_system TEXT,
    notes TEXT
)"""

ASSEMBLY_TABLE = """CREATE TABLE assembly (
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
)"""

PARTS_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_parts_type_pol ON parts(part_type, polarization, part_number)",
)
ASSEMBLY_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_assembly_part ON assembly(part_number, id)",
    "CREATE INDEX IF NOT EXISTS idx_assembly_target ON assembly(connected_to, id)",
)

# table name -> DDL, per database file
TABLES: dict[str, dict[str, str]] = {
    PARTS_DB: {
        "parts": PARTS_TABLE,
        "antenna_positions": ANTENNA_POSITIONS_TABLE,
        "snap_boards": SNAP_BOARDS_TABLE,
        "grid_positions": GRID_POSITIONS_TABLE,
    },
    ASSEMBLY_DB: {"assembly": ASSEMBLY_TABLE},
}
INDEXES: dict[str, tuple[str, ...]] = {PARTS_DB: PARTS_INDEXES, ASSEMBLY_DB: ASSEMBLY_INDEXES}
# tables a file must have to count as that database (restore checks this)
REQUIRED_TABLES: dict[str, frozenset[str]] = {
    PARTS_DB: frozenset({"parts", "antenna_positions", "snap_boards"}),
    ASSEMBLY_DB: frozenset({"assembly"}),
}
