"""Adopting older installations built here with every oddity the old tool left behind.

Each database is written with plain ``sqlite3`` the way the old tool (or a user of it)
did: polarization ``1``/``2``/``X``/``N/A``, local times without a zone, old grid codes,
disconnections recorded downstream-first, ``connection_status`` added by ``ALTER TABLE``,
``CHECK``s the spec lacks, the oldest ``parts`` layout, missing tables, the old migrator's
``schema_version`` table. The tests check row for row that nothing was lost, that each value
was mapped by its rule or kept, that the chains and conflicts casman shows are what the old
rows mean (the old tool's rule: per pair of parts the latest row decides), and that casman
works on the result.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from casman.db.schema_check import check_candidate
from tests.conftest import Casman

LEGACY_PARTS = """CREATE TABLE parts (
    id INTEGER PRIMARY KEY,
    part_number TEXT UNIQUE,
    part_type TEXT,
    created_at TEXT,
    modified_at TEXT
, polarization TEXT, date_created TEXT, date_modified TEXT)"""

CHECKED_POSITIONS = """CREATE TABLE antenna_positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    antenna_number TEXT UNIQUE NOT NULL,
    array_id TEXT NOT NULL,
    row_offset INTEGER NOT NULL,
    east_col INTEGER NOT NULL,
    grid_code TEXT UNIQUE NOT NULL,
    assigned_at TEXT NOT NULL,
    notes TEXT,
    CHECK(row_offset >= -999 AND row_offset <= 999),
    CHECK(east_col >= 1 AND east_col <= 6),
    UNIQUE(array_id, row_offset, east_col)
)"""

OLD_ASSEMBLY = """CREATE TABLE assembly (
    id INTEGER PRIMARY KEY,
    part_number TEXT,
    part_type TEXT,
    polarization TEXT CHECK(polarization IN ('1', '2', 'X', 'N/A')),
    scan_time TEXT,
    connected_to TEXT,
    connected_to_type TEXT,
    connected_polarization TEXT,
    connected_scan_time TEXT
)"""

T0 = "2025-07-01 09:00:0"  # summer: UTC-04:00 in America/New_York

PARTS = [
    # id, part_number, part_type, created_at, modified_at, polarization, date_created
    (1, "ANT00001P1", "ANTENNA", "2025-07-01 08:00:00", "2025-07-01 08:00:00", "1", None),
    (2, "LNA00001P1", "LNA", None, None, "1", "2025-07-01 08:00:00"),
    (3, "CXS00001P1", "COAXSHORT", None, None, "X", "2025-07-01T12:00:00+00:00"),
    (4, "CXS00002P1", "COAXSHORT", None, None, "N/A", "2025-07-01 08:00:00"),
    (5, "ANT00001P2", "ANTENNA", None, None, "2", "2025-07-01 08:00:00"),
    (6, "LNA00001P2", "LNA", None, None, "2", "2025-07-01 08:00:00"),
    (7, "ANTP1-00009", "ANTENNA", None, None, "1", "not a time"),
    (9, "lna00002p1 ", "LNA", None, None, None, "2025-12-01 08:00:00.250"),
    (10, "CXS00003P1", "COAXSHORT", None, None, "1", "2025-07-01 08:00:00"),
]

ASSEMBLY = [
    # id, source, type, pol, time, target, type, pol, time, status (None: before the column)
    (1, "ANT00001P1", "ANTENNA", "1", T0 + "1", "LNA00001P1", "LNA", "1", T0 + "2", None),
    # disconnected downstream-first: the LNA was scanned, then the antenna
    (2, "LNA00001P1", "LNA", "1", T0 + "5", "ANT00001P1", "ANTENNA", "1", T0 + "6", "disconnected"),
    (3, "ANT00001P2", "ANTENNA", "2", T0 + "3", "LNA00001P2", "LNA", "2", T0 + "3", "connected"),
    # connected downstream-first, still live
    (4, "CXS00001P1", "COAXSHORT", "X", T0 + "4", "LNA00001P1", "LNA", "1", T0 + "4", "connected"),
    # the same LNA feeds a second coax: a conflict the old tool let through
    (
        5,
        "LNA00001P1",
        "LNA",
        "1",
        T0 + "7",
        "CXS00002P1",
        "COAXSHORT",
        "N/A",
        T0 + "7",
        "connected",
    ),
    # a SNAP port in the field form and a part number casman does not read
    (6, "BAC00001P2", "BACBOARD", "2", T0 + "8", "SNAP1A05", "SNAP", "N/A", T0 + "8", "connected"),
    (7, "ANTP1-00009", "ANTENNA", "1", T0 + "9", "LNA00002P1", "LNA", "1", T0 + "9", "connected"),
    (
        8,
        "LNA00002P1",
        "LNA",
        "1",
        T0 + "9",
        "ANTP1-00009",
        "ANTENNA",
        "1",
        T0 + "9",
        "Disconnected ",
    ),
    # neither number nor type tells the chain order: the pair keeps its first row's direction
    (9, "RIG-1", "GIZMO", None, "2025-07-02 09:00:00", "RIG-2", "GIZMO", None, None, "connected"),
    (
        10,
        "RIG-2",
        "GIZMO",
        None,
        "2025-07-02 10:00:00",
        "RIG-1",
        "GIZMO",
        None,
        None,
        "disconnected",
    ),
    # out of chain order and polarizations differ: casman would refuse it today
    (
        11,
        "CXS00003P1",
        "COAXSHORT",
        "1",
        "2025-07-03 09:00:00",
        "BAC00001P2",
        "BACBOARD",
        "2",
        "2025-07-03 09:00:00",
        "connected",
    ),
]


def build_old_installation(directory: Path) -> None:
    """Two files as a long-lived old installation left them."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = sqlite3.connect(directory / "parts.db")
    parts.execute(LEGACY_PARTS)
    parts.executemany(
        "INSERT INTO parts (id, part_number, part_type, created_at, modified_at, polarization,"
        " date_created) VALUES (?, ?, ?, ?, ?, ?, ?)",
        PARTS,
    )
    parts.execute(CHECKED_POSITIONS)
    for column in ("latitude REAL", "longitude REAL", "height REAL", "coordinate_system TEXT"):
        parts.execute(f"ALTER TABLE antenna_positions ADD COLUMN {column}")
    parts.executemany(
        "INSERT INTO antenna_positions (id, antenna_number, array_id, row_offset, east_col,"
        " grid_code, assigned_at, latitude, longitude) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (1, "ANT00001P1", "C", 2, 2, "cn002e03 ", "2025-07-01 10:00:00", 37.2, -118.2),
            (2, "ANT00002", "C", 0, 1, "CN000E01", "2025-07-01T14:00:00.123456Z", None, None),
            (3, "ANT00003", "O", 1, 1, "ON001E01", "2025-07-01 10:00:00", None, None),
            (5, "ANT00005", "C", -3, 4, "CS003E04", "2025-07-01 10:00:00", None, None),
        ],
    )
    parts.execute("DELETE FROM antenna_positions WHERE id = 5")  # the counter stays at 5
    parts.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    parts.execute("INSERT INTO schema_version VALUES (1, '2025-01-01 00:00:00')")
    parts.execute("CREATE INDEX my_lookup ON parts(part_type)")
    parts.commit()
    parts.close()
    assembly = sqlite3.connect(directory / "assembled_casm.db")
    assembly.execute(OLD_ASSEMBLY)
    old_rows = [row[:9] for row in ASSEMBLY if row[9] is None]
    assembly.executemany(f"INSERT INTO assembly VALUES ({', '.join('?' * 9)})", old_rows)
    assembly.execute("ALTER TABLE assembly ADD COLUMN connection_status TEXT")
    assembly.executemany(
        f"INSERT INTO assembly VALUES ({', '.join('?' * 10)})",
        [row for row in ASSEMBLY if row[9] is not None],
    )
    assembly.commit()
    assembly.close()


def file_hashes(directory: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
        if path.is_file()
    }


def table(directory: Path, name: str, db: str = "parts.db") -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(directory / db)
    try:
        order = "rowid" if name == "grid_positions" else "id"
        return conn.execute(f"SELECT * FROM {name} ORDER BY {order}").fetchall()
    finally:
        conn.close()


def old_rule_live_pairs() -> set[frozenset[str]]:
    """The old tool's reading of ASSEMBLY: per pair, the latest row decides (NULL status
    rows predate the column and were connections)."""
    latest: dict[frozenset[str], tuple[str, int, str]] = {}
    for row in ASSEMBLY:
        pair = frozenset((row[1].strip().upper(), row[5].strip().upper()))
        key = (row[4], row[0], (row[9] or "connected").strip().lower())
        if pair not in latest or key[:2] > latest[pair][:2]:
            latest[pair] = key
    return {pair for pair, (_, _, status) in latest.items() if status == "connected"}


@pytest.fixture
def old(db_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TZ", "America/New_York")
    build_old_installation(db_dir)
    return db_dir


def test_reading_changes_no_byte_and_shows_the_adopted_values(casman: Casman, old: Path) -> None:
    before = file_hashes(old)
    listed = {p["part_number"]: p for p in json.loads(casman.ok("parts", "list", "--json").stdout)}
    assert listed["CXS00001P1"]["polarization"] == "P1"
    assert listed["LNA00002P1"]["polarization"] == "P1"
    assert listed["ANTP1-00009"]["polarization"] == "P1"
    assert "CN002E03" in casman.ok("antenna", "show", "ANT00001").stdout
    assert file_hashes(old) == before


def test_dry_run_reports_each_rule_and_what_is_kept(casman: Casman, old: Path) -> None:
    before = file_hashes(old)
    out = casman.ok("database", "migrate", "--dry-run").stdout
    lines = {" ".join(line.split()[:2]) for line in out.splitlines() if line.startswith("  ")}
    for expected in (
        "legacy-date-columns parts.date_created",
        "part-number-spelling parts.part_number",
        "polarization-from-number parts.polarization",
        "polarization-digits parts.polarization",
        "local-time assembly.scan_time",
        "utc-time-spelling antenna_positions.assigned_at",
        "missing-status assembly.connection_status",
        "status-spelling assembly.connection_status",
        "chain-direction assembly",
        "pair-direction assembly",
        "antenna-number antenna_positions.antenna_number",
        "grid-code-spelling antenna_positions.grid_code",
        "grid-fields-from-code antenna_positions.array_id/row_offset/east_col",
        "table-layout antenna_positions",
        "missing-table snap_boards",
        "old-bookkeeping schema_version",
        "old-bookkeeping index",
        "unknown-part-number parts.part_number",
        "unknown-time parts.date_created",
        "unknown-grid-code antenna_positions.grid_code",
        "rule-break assembly",
    ):
        assert expected in lines, expected
    assert "Rows: parts 9 → 9, antenna_positions 3 → 3" in out
    assert file_hashes(old) == before


def test_migrate_keeps_every_row_and_maps_each_value(casman: Casman, old: Path) -> None:
    casman.ok("database", "migrate")
    parts = {row[0]: row for row in table(old, "parts")}
    assert sorted(parts) == [row[0] for row in PARTS]
    assert parts[1][1:4] == ("ANT00001P1", "ANTENNA", "P1")
    assert parts[1][4] == "2025-07-01T12:00:00Z"  # created_at, 08:00 at UTC-04:00 (summer)
    assert parts[3][3:5] == ("P1", "2025-07-01T12:00:00Z")  # 'X' and +00:00
    assert parts[4][3] == "P1"  # 'N/A'
    assert parts[5][3] == "P2"
    assert parts[7][1:5] == ("ANTP1-00009", "ANTENNA", "P1", "not a time")  # kept as written
    assert parts[9][1] == "LNA00002P1"
    assert parts[9][4] == "2025-12-01T13:00:00Z"  # winter: UTC-05:00, fraction dropped

    positions = {row[0]: row for row in table(old, "antenna_positions")}
    assert sorted(positions) == [1, 2, 3]
    assert positions[1][1:7] == ("ANT00001", "C", 2, 3, "CN002E03", "2025-07-01T14:00:00Z")
    assert positions[2][1:7] == ("ANT00002", "C", 0, 1, "CC000E01", "2025-07-01T14:00:00Z")
    assert positions[3][1:6] == ("ANT00003", "O", 1, 1, "ON001E01")  # not C/N/S: kept
    assert positions[1][8:10] == (37.2, -118.2)  # coordinates stay with the row
    assert table(old, "grid_positions") == []
    names = {
        r[0] for r in sqlite3.connect(old / "parts.db").execute("SELECT name FROM sqlite_master")
    }
    assert "schema_version" not in names and "my_lookup" not in names

    assembly = {row[0]: row for row in table(old, "assembly", "assembled_casm.db")}
    assert sorted(assembly) == [row[0] for row in ASSEMBLY]
    assert assembly[1][1:] == (
        "ANT00001P1",
        "ANTENNA",
        "P1",
        "2025-07-01T13:00:01Z",
        "LNA00001P1",
        "LNA",
        "P1",
        "2025-07-01T13:00:02Z",
        "connected",
    )
    # turned to chain direction, each part keeping its own scan time
    assert assembly[2][1:] == (
        "ANT00001P1",
        "ANTENNA",
        "P1",
        "2025-07-01T13:00:06Z",
        "LNA00001P1",
        "LNA",
        "P1",
        "2025-07-01T13:00:05Z",
        "disconnected",
    )
    assert assembly[4][1:3] == ("LNA00001P1", "LNA") and assembly[4][5] == "CXS00001P1"
    assert assembly[6][5:8] == ("SNAP010105", "SNAP", None)
    assert (assembly[8][1], assembly[8][5], assembly[8][9]) == (
        "ANTP1-00009",
        "LNA00002P1",
        "disconnected",
    )
    for name in ("parts.db", "assembled_casm.db"):
        check_candidate(old / name, name)


def test_chains_and_conflicts_are_what_the_old_rows_mean(casman: Casman, old: Path) -> None:
    from casman.db.assembly import active_links
    from casman.db.readonly import open_read_only

    for step in ("as it is", "migrated"):
        conn = open_read_only(old)
        try:
            links = active_links(conn)
        finally:
            conn.close()
        live = {frozenset(pair) for pair in links.forward.items()}
        live |= {frozenset(pair) for pair in links.conflicts}
        assert live == {
            frozenset({"ANT00001P2", "LNA00001P2"}),
            frozenset({"LNA00001P1", "CXS00001P1"}),
            frozenset({"LNA00001P1", "CXS00002P1"}),
            frozenset({"BAC00001P2", "SNAP010105"}),
            frozenset({"CXS00003P1", "BAC00001P2"}),
        }, step
        old_meaning = {
            frozenset("SNAP010105" if p == "SNAP1A05" else p for p in pair)
            for pair in old_rule_live_pairs()
        }
        assert live == old_meaning, step
        assert links.conflicts == [("LNA00001P1", "CXS00002P1")], step
        if step == "as it is":
            casman.ok("database", "migrate")


def test_casman_works_on_the_adopted_files(casman: Casman, old: Path) -> None:
    casman.ok("parts", "add", "ANTENNA", "3", "1")
    listed = json.loads(casman.ok("parts", "list", "--type", "ANTENNA", "--json").stdout)
    assert {"ANT00002P1", "ANT00004P1"} <= {p["part_number"] for p in listed}
    casman.ok("parts", "add", "LNA", "1", "1")
    casman.ok("assembly", "connect", "ANT00002P1", "LNA00003P1")
    casman.ok("assembly", "disconnect", "LNA00001P1", "CXS00002P1")  # resolves the clash
    chain = json.loads(casman.ok("assembly", "chain", "CXS00001P1", "--json").stdout)
    assert chain["parts"][:2] == ["LNA00001P1", "CXS00001P1"]
    casman.ok("antenna", "assign", "ANT00004", "CN005E02")
    positions = table(old, "antenna_positions")
    assert positions[-1][0] == 6  # the old AUTOINCREMENT counter (5) is kept


def test_a_database_casman_0x_opened_without_migrating_is_adopted(
    casman: Casman, old: Path
) -> None:
    """casman 0.x switched such files to WAL, added its tables and stamped version 1, and
    left the values: they are found and mapped all the same."""
    for name in ("parts.db", "assembled_casm.db"):
        conn = sqlite3.connect(old / name)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA user_version = 1")
        conn.close()
    casman.ok("parts", "add", "CXS", "1", "2")
    assert table(old, "parts")[0][3] == "P1"
    assert (old / "safety").is_dir()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("CREATE TABLE notes (body TEXT)", "holds a table 'notes' that casman does not know"),
        (
            "CREATE TRIGGER t AFTER INSERT ON parts BEGIN SELECT 1; END",
            "holds a trigger 't' (code, not data)",
        ),
        ("CREATE VIEW v AS SELECT 1", "holds a view 'v'"),
        (
            "ALTER TABLE parts ADD COLUMN location TEXT DEFAULT 'shed'",
            "column parts.location holds 9 value(s) casman has no place for",
        ),
        ("PRAGMA user_version = 7", "newer than this casman understands"),
    ],
)
def test_what_casman_cannot_read_is_refused_in_one_line_and_nothing_changes(
    casman: Casman, old: Path, sql: str, message: str
) -> None:
    conn = sqlite3.connect(old / "parts.db")
    conn.execute(sql)
    conn.commit()
    conn.close()
    before = file_hashes(old)
    for command in (("database", "migrate"), ("parts", "list"), ("parts", "add", "LNA", "1", "1")):
        result = casman.fails(*command)
        assert message in result.stderr, (command, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert file_hashes(old) == before
    assert sorted(p.name for p in old.iterdir()) == ["assembled_casm.db", "parts.db"]


def test_rows_that_break_a_spec_constraint_are_refused_before_any_write(
    casman: Casman, db_dir: Path
) -> None:
    """A legacy table without the spec's UNIQUE holds one antenna twice: no rule can keep
    both rows in casman's table, so nothing is written and the line says why."""
    db_dir.mkdir()
    conn = sqlite3.connect(db_dir / "parts.db")
    conn.execute(
        "CREATE TABLE antenna_positions (id INTEGER PRIMARY KEY, antenna_number TEXT,"
        " array_id TEXT, row_offset INTEGER, east_col INTEGER, grid_code TEXT,"
        " assigned_at TEXT)"
    )
    conn.executemany(
        "INSERT INTO antenna_positions VALUES (?, 'ANT00001', 'C', 1, 1, ?, '2025-01-01 00:00:00')",
        [(1, "CN001E01"), (2, "CN001E02")],
    )
    conn.commit()
    conn.close()
    before = file_hashes(db_dir)
    result = casman.fails("database", "migrate")
    assert "UNIQUE constraint failed: antenna_positions.antenna_number" in result.stderr
    assert file_hashes(db_dir) == before
