"""The three-way merge of two diverged copies of a casman database.

Every database here is a real SQLite file written through casman's own functions (parts
added, connections scanned, antennas placed, CSVs loaded) and handed to the merge as a
snapshot, the way sync hands it downloaded backups.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casman.db.assembly import active_links, connect, disconnect
from casman.db.connection import open_databases
from casman.db.parts import add_parts
from casman.db.positions import assign, load_coordinates, remove
from casman.db.schema import ASSEMBLY_DB, PARTS_DB, SCHEMA_VERSION, TABLES
from casman.db.schema_check import check_candidate, column_names
from casman.db.snap_boards import load_boards
from casman.domain.connections import parse_part
from casman.domain.errors import DomainError
from casman.domain.grid import parse_grid_code
from casman.domain.parts import PartType
from casman.sync.merge import Conflict, MergeError, MergeReport, merge_databases
from casman.sync.merge_assembly import merge_assembly
from casman.sync.snapshot import take_snapshot

START = datetime(2025, 3, 1, 10, 0, 0, tzinfo=UTC)
Rows = dict[str, list[tuple[object, ...]]]


def at(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def site(directory: Path) -> Iterator[sqlite3.Connection]:
    """A casman database directory, opened as the CLI opens it."""
    conn = open_databases(directory)
    try:
        yield conn
    finally:
        conn.close()


def fork(source: Path, directory: Path) -> Path:
    """A second site starting from ``source``'s content (as a pulled version would)."""
    directory.mkdir(parents=True)
    for name in (PARTS_DB, ASSEMBLY_DB):
        take_snapshot(source / name, directory / name)
    return directory


def snapshot(directory: Path, db_name: str, into: Path) -> Path:
    """What sync hands the merge: a checked snapshot of one database."""
    into.mkdir(parents=True, exist_ok=True)
    target = into / f"{directory.name}-{db_name}"
    take_snapshot(directory / db_name, target)
    check_candidate(target, db_name)
    return target


def merge(
    db_name: str, base: Path | None, local: Path, remote: Path, work: Path
) -> tuple[MergeReport, Path]:
    """Merge the sites' ``db_name`` into a new file; the output must pass the schema check."""
    inputs = work / "inputs"
    base_file = snapshot(base, db_name, inputs) if base is not None else None
    local_file = snapshot(local, db_name, inputs)
    remote_file = snapshot(remote, db_name, inputs)
    output = work / f"merged-{len(list(work.glob('merged-*')))}-{db_name}"
    report = merge_databases(db_name, base_file, local_file, remote_file, output)
    check_candidate(output, db_name)
    return report, output


def merge_files(db_name: str, base: Path | None, local: Path, remote: Path, work: Path) -> Path:
    output = work / f"merged-{len(list(work.glob('merged-*')))}-{db_name}"
    merge_databases(db_name, base, local, remote, output)
    check_candidate(output, db_name)
    return output


def read(path: Path, db_name: str) -> Rows:
    """Every table's rows in primary-key order (the log by id)."""
    with closing(sqlite3.connect(path)) as conn:
        return {
            table: [
                tuple(row)
                for row in conn.execute(
                    f"SELECT {', '.join(column_names(db_name, table))} FROM {table}"
                    f" ORDER BY {column_names(db_name, table)[0]}"
                )
            ]
            for table in TABLES[db_name]
        }


def live(directory: Path, db_name: str) -> Rows:
    return read(directory / db_name, db_name)


def events(rows: Rows) -> list[tuple[object, ...]]:
    """The assembly log in (scan_time, id) order, without ids."""
    return [row[1:] for row in sorted(rows["assembly"], key=lambda row: (row[4], row[0]))]


def without_ids(rows: Rows) -> dict[str, list[tuple[object, ...]]]:
    """Parts tables as sorted rows without ids: content, whatever the numbering."""
    content = {}
    for table, table_rows in rows.items():
        has_id = column_names(PARTS_DB, table)[0] == "id"
        content[table] = sorted(
            (row[1:] if has_id else row for row in table_rows), key=lambda row: repr(row)
        )
    return content


def link(conn: sqlite3.Connection, source: str, target: str, seconds: int) -> None:
    connect(conn, parse_part(source), parse_part(target), scan_time=at(seconds))


def unlink(conn: sqlite3.Connection, source: str, target: str, seconds: int) -> None:
    disconnect(conn, parse_part(source), parse_part(target), scan_time=at(seconds))


def place(conn: sqlite3.Connection, antenna: str, code: str) -> None:
    assign(conn, antenna, parse_grid_code(code), force=True)


def stock(conn: sqlite3.Connection, count: int = 3) -> None:
    for part_type in (PartType.ANTENNA, PartType.LNA, PartType.COAXSHORT):
        add_parts(conn, part_type, count, "P1")


def write_csv(path: Path, header: str, *lines: str) -> Path:
    path.write_text("\n".join((header, *lines)) + "\n")
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A base with three antennas, LNAs and short coax (P1) and one link scanned."""
    directory = tmp_path / "base"
    with site(directory) as conn:
        stock(conn)
        link(conn, "ANT00001P1", "LNA00001P1", 0)
    return directory


# -- assembly ---------------------------------------------------------------------------------


def test_disjoint_work_on_both_sides_loses_nothing(base: Path, tmp_path: Path) -> None:
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    with site(local) as conn:
        link(conn, "LNA00001P1", "CXS00001P1", 10)
        add_parts(conn, PartType.BACBOARD, 1, "P1")
    with site(remote) as conn:
        link(conn, "ANT00002P1", "LNA00002P1", 10)  # the same second as the local scan
        link(conn, "LNA00002P1", "CXS00002P1", 11)
        add_parts(conn, PartType.COAXLONG, 2, "P2")

    report, output = merge(ASSEMBLY_DB, base, local, remote, tmp_path / "work")
    assert report.conflicts == []
    assert (report.local_changes, report.remote_changes) == (1, 2)
    merged = read(output, ASSEMBLY_DB)
    assert Counter(events(merged)) == Counter(events(live(local, ASSEMBLY_DB))) | Counter(
        events(live(remote, ASSEMBLY_DB))
    )
    assert [row[0] for row in merged["assembly"]] == [1, 2, 3, 4]
    assert [row[4] for row in merged["assembly"]] == sorted(row[4] for row in merged["assembly"])
    with closing(sqlite3.connect(output)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"

    parts_report, parts_output = merge(PARTS_DB, base, local, remote, tmp_path / "work")
    assert parts_report.conflicts == []
    assert (parts_report.local_changes, parts_report.remote_changes) == (1, 2)
    numbers = {row[1] for row in read(parts_output, PARTS_DB)["parts"]}
    everyone = {row[1] for side in (local, remote) for row in live(side, PARTS_DB)["parts"]}
    assert numbers == everyone
    assert {"BAC00001P1", "CXL00001P2", "CXL00002P2"} <= numbers


def test_the_same_lna_on_two_coax_is_one_conflict_naming_both(base: Path, tmp_path: Path) -> None:
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    with site(local) as conn:
        link(conn, "LNA00001P1", "CXS00001P1", 10)
    with site(remote) as conn:
        link(conn, "LNA00001P1", "CXS00002P1", 20)

    report, output = merge(ASSEMBLY_DB, base, local, remote, tmp_path / "work")
    assert len(report.conflicts) == 1
    conflict = report.conflicts[0]
    assert (conflict.database, conflict.kind, conflict.key) == (
        ASSEMBLY_DB,
        "connection",
        "LNA00001P1",
    )
    assert "CXS00001P1" in conflict.kept and "local" in conflict.kept
    assert "CXS00002P1" in conflict.other and "remote" in conflict.other
    assert "casman assembly disconnect LNA00001P1 CXS00002P1" in conflict.detail
    assert "independently" in conflict.detail
    pairs = [(row[1], row[5]) for row in read(output, ASSEMBLY_DB)["assembly"]]
    assert ("LNA00001P1", "CXS00001P1") in pairs and ("LNA00001P1", "CXS00002P1") in pairs

    swapped, swapped_output = merge(ASSEMBLY_DB, base, remote, local, tmp_path / "work")
    assert read(swapped_output, ASSEMBLY_DB) == read(output, ASSEMBLY_DB)
    assert [c.key for c in swapped.conflicts] == ["LNA00001P1"]


def test_two_sites_feeding_one_coax_is_an_incoming_conflict(base: Path, tmp_path: Path) -> None:
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    with site(local) as conn:
        link(conn, "LNA00001P1", "CXS00003P1", 10)
    with site(remote) as conn:
        link(conn, "LNA00002P1", "CXS00003P1", 10)

    report, _ = merge(ASSEMBLY_DB, base, local, remote, tmp_path / "work")
    assert [(c.kind, c.key) for c in report.conflicts] == [("connection", "CXS00003P1")]
    assert "incoming" in report.conflicts[0].detail


def test_a_break_already_in_one_copy_is_reported_once_as_such(base: Path, tmp_path: Path) -> None:
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    with site(local) as conn:  # data casman itself would refuse: an older tool wrote it
        conn.execute(
            "INSERT INTO asm.assembly (part_number, part_type, polarization, scan_time,"
            " connected_to, connected_to_type, connected_polarization, connected_scan_time,"
            " connection_status) VALUES ('ANT00001P1', 'ANTENNA', 'P1', ?, 'LNA00002P1',"
            " 'LNA', 'P1', ?, 'connected')",
            (at(5), at(5)),
        )
    report, _ = merge(ASSEMBLY_DB, base, local, remote, tmp_path / "work")
    assert [(c.kind, c.key) for c in report.conflicts] == [("connection", "ANT00001P1")]
    assert "already so in the local copy" in report.conflicts[0].detail


def test_a_connect_and_disconnect_in_one_second_keep_their_order(
    base: Path, tmp_path: Path
) -> None:
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    with site(local) as conn:
        link(conn, "LNA00002P1", "CXS00002P1", 30)
        unlink(conn, "LNA00002P1", "CXS00002P1", 30)
    with site(remote) as conn:
        link(conn, "ANT00003P1", "LNA00003P1", 30)
        unlink(conn, "ANT00003P1", "LNA00003P1", 30)
        link(conn, "ANT00003P1", "LNA00003P1", 30)

    for left, right in ((local, remote), (remote, local)):
        _, output = merge(ASSEMBLY_DB, base, left, right, tmp_path / "work")
        with closing(sqlite3.connect(":memory:")) as conn:
            conn.execute("ATTACH DATABASE ? AS asm", (str(output),))
            links = active_links(conn)
        assert links.forward == {"ANT00001P1": "LNA00001P1", "ANT00003P1": "LNA00003P1"}


# -- parts ----------------------------------------------------------------------------------------


def test_one_part_number_created_at_both_sites_keeps_the_earlier_row(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    monkeypatch.setattr("casman.db.parts.now_iso", lambda: at(500))
    with site(local) as conn:
        assert add_parts(conn, PartType.LNA, 1, "P2") == ["LNA00001P2"]
    monkeypatch.setattr("casman.db.parts.now_iso", lambda: at(400))
    with site(remote) as conn:
        assert add_parts(conn, PartType.LNA, 1, "P2") == ["LNA00001P2"]

    report, output = merge(PARTS_DB, base, local, remote, tmp_path / "work")
    assert len(report.conflicts) == 1
    conflict = report.conflicts[0]
    assert (conflict.kind, conflict.key) == ("part", "LNA00001P2")
    assert at(400) in conflict.kept and "remote" in conflict.kept
    assert at(500) in conflict.other and "local" in conflict.other
    assert "casman parts add LNA 1 P2" in conflict.detail
    kept = [row for row in read(output, PARTS_DB)["parts"] if row[1] == "LNA00001P2"]
    assert len(kept) == 1 and kept[0][4] == at(400)
    ids = [row[0] for row in read(output, PARTS_DB)["parts"]]
    assert ids == list(range(1, len(ids) + 1))


def test_a_part_created_in_the_same_second_with_other_rows_keeps_the_local_one(
    base: Path, tmp_path: Path
) -> None:
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    for directory, modified in ((local, at(7)), (remote, at(8))):
        with site(directory) as conn:
            conn.execute(
                "INSERT INTO parts (part_number, part_type, polarization, date_created,"
                " date_modified) VALUES ('CXS00009P1', 'COAXSHORT', 'P1', ?, ?)",
                (at(6), modified),
            )
    report, output = merge(PARTS_DB, base, local, remote, tmp_path / "work")
    assert [(c.kind, c.key) for c in report.conflicts] == [("part", "CXS00009P1")]
    assert "local" in report.conflicts[0].kept
    kept = [row for row in read(output, PARTS_DB)["parts"] if row[1] == "CXS00009P1"]
    assert [row[5] for row in kept] == [at(7)]


# -- positions, boards, grid ------------------------------------------------------------------


def test_positions_merge_three_way(base: Path, tmp_path: Path) -> None:
    with site(base) as conn:
        add_parts(conn, PartType.ANTENNA, 2, "P1")  # ANT00004, ANT00005
        place(conn, "ANT00001", "CN001E01")
        place(conn, "ANT00002", "CN001E02")
        place(conn, "ANT00003", "CN001E03")
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    with site(local) as conn:
        place(conn, "ANT00001", "CN002E01")  # both sides move ANT00001, differently
        remove(conn, "ANT00003")  # deleted on one side only
        place(conn, "ANT00004", "CN003E03")  # the same free position taken twice
    with site(remote) as conn:
        place(conn, "ANT00001", "CN002E02")
        place(conn, "ANT00002", "CN002E03")  # changed on one side only
        place(conn, "ANT00005", "CN003E03")

    report, output = merge(PARTS_DB, base, local, remote, tmp_path / "work")
    kinds: dict[tuple[str, str], Conflict] = {(c.kind, c.key): c for c in report.conflicts}
    assert set(kinds) == {("antenna_position", "ANT00001"), ("antenna_position", "CN003E03")}
    moved = kinds[("antenna_position", "ANT00001")]
    assert "CN002E02" in moved.kept and "remote" in moved.kept
    assert "CN002E01" in moved.other and "local" in moved.other
    assert "casman antenna assign ANT00001 CN002E01 --force" in moved.detail
    taken = kinds[("antenna_position", "CN003E03")]
    assert "ANT00005" in taken.kept and "ANT00004" in taken.other

    positions = {row[1]: row[5] for row in read(output, PARTS_DB)["antenna_positions"]}
    assert positions == {
        "ANT00001": "CN002E02",
        "ANT00002": "CN002E03",
        "ANT00005": "CN003E03",
    }
    assert (report.local_changes, report.remote_changes) == (3, 3)
    with closing(sqlite3.connect(output)) as conn:
        seq = dict(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        top = conn.execute("SELECT MAX(id) FROM antenna_positions").fetchone()[0]
    assert seq["antenna_positions"] >= top


def test_coordinates_loaded_at_one_site_reach_an_antenna_placed_at_the_other(
    base: Path, tmp_path: Path
) -> None:
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    grid = write_csv(
        tmp_path / "grid_positions.csv",
        "grid_code,latitude,longitude,height,coordinate_system,notes",
        "CN001E01,37.2,-118.2,1183.5,WGS84,",
        "CN001E02,37.3,-118.3,1184.5,WGS84,",
    )
    with site(local) as conn:
        load_coordinates(conn, grid)
    with site(remote) as conn:
        place(conn, "ANT00002", "CN001E02")
    report, output = merge(PARTS_DB, base, local, remote, tmp_path / "work")
    assert report.conflicts == []
    (row,) = read(output, PARTS_DB)["antenna_positions"]
    assert (row[1], row[5], row[8], row[9], row[10], row[11]) == (
        "ANT00002",
        "CN001E02",
        37.3,
        -118.3,
        1184.5,
        "WGS84",
    )


BOARD_HEADER = "chassis,slot,sn,mac,ip,feng_id"


def board(chassis: int, slot: str, serial: int, feng_id: int) -> str:
    mac = f"00:00:00:00:{chassis:02x}:{serial % 256:02x}"
    return f"{chassis},{slot},{serial},{mac},10.0.{chassis}.{serial % 256},{feng_id}"


def test_snap_board_clashes_are_reported_never_raised(base: Path, tmp_path: Path) -> None:
    with site(base) as conn:
        load_boards(
            conn,
            write_csv(tmp_path / "b.csv", BOARD_HEADER, board(1, "A", 1, 0), board(1, "B", 2, 1)),
        )
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    with site(local) as conn:  # swap the feng ids of 1A and 1B; add board 1D, serial 77
        load_boards(
            conn,
            write_csv(
                tmp_path / "l.csv",
                BOARD_HEADER,
                board(1, "A", 1, 1),
                board(1, "B", 2, 0),
                board(1, "D", 77, 3),
            ),
        )
    with site(remote) as conn:  # 1A to feng 9, new 1C takes feng 0, new 2A serial 77
        load_boards(
            conn,
            write_csv(
                tmp_path / "r.csv",
                BOARD_HEADER,
                board(1, "A", 1, 9),
                board(1, "C", 3, 0),
                board(2, "A", 77, 4),
            ),
        )
    report, output = merge(PARTS_DB, base, local, remote, tmp_path / "work")
    found = {c.key: c for c in report.conflicts}
    assert set(found) == {"SNAP1A", "SNAP1B", "SNAP1D"}
    assert all(c.kind == "snap_board" for c in report.conflicts)
    assert "feng_id 9" in found["SNAP1A"].kept and "feng_id 1" in found["SNAP1A"].other
    assert "feng id 0" in found["SNAP1B"].detail and "SNAP1C" in found["SNAP1B"].detail
    assert "serial number 77" in found["SNAP1D"].detail
    boards = {(row[1], row[2]): row[6] for row in read(output, PARTS_DB)["snap_boards"]}
    assert boards == {(1, "A"): 9, (1, "B"): 1, (1, "C"): 0, (2, "A"): 4}


def test_grid_coordinates_changed_on_both_sides_keep_the_remote(base: Path, tmp_path: Path) -> None:
    header = "grid_code,latitude,longitude,height,coordinate_system,notes"
    with site(base) as conn:
        load_coordinates(conn, write_csv(tmp_path / "g.csv", header, "CN001E01,1,2,3,WGS84,"))
    local, remote = fork(base, tmp_path / "local"), fork(base, tmp_path / "remote")
    with site(local) as conn:
        load_coordinates(conn, write_csv(tmp_path / "l.csv", header, "CN001E01,1,2,4,WGS84,"))
    with site(remote) as conn:
        load_coordinates(conn, write_csv(tmp_path / "r.csv", header, "CN001E01,1,2,5,WGS84,"))
    report, output = merge(PARTS_DB, base, local, remote, tmp_path / "work")
    assert [(c.kind, c.key) for c in report.conflicts] == [("grid_position", "CN001E01")]
    assert "load-coordinates" in report.conflicts[0].detail
    assert [row[3] for row in read(output, PARTS_DB)["grid_positions"]] == [5.0]


# -- the interface ------------------------------------------------------------------------------


def test_an_unknown_base_counts_everything_as_added_on_both_sides(
    base: Path, tmp_path: Path
) -> None:
    remote = fork(base, tmp_path / "remote")
    for db_name in (PARTS_DB, ASSEMBLY_DB):
        report, output = merge(db_name, None, base, remote, tmp_path / "work")
        assert report.conflicts == []
        assert report.local_changes == report.remote_changes > 0
        if db_name == ASSEMBLY_DB:
            assert read(output, db_name) == live(base, db_name)
        else:
            assert without_ids(read(output, db_name)) == without_ids(live(base, db_name))


def test_the_output_must_be_new_and_the_database_known(base: Path, tmp_path: Path) -> None:
    source = snapshot(base, PARTS_DB, tmp_path / "inputs")
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"mine")
    with pytest.raises(MergeError, match="already exists"):
        merge_databases(PARTS_DB, source, source, source, taken)
    assert taken.read_bytes() == b"mine"
    with pytest.raises(MergeError, match="unknown database"):
        merge_databases("other.db", source, source, source, tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()


def test_an_older_parts_file_without_grid_positions_reads_as_empty(
    base: Path, tmp_path: Path
) -> None:
    header = "grid_code,latitude,longitude,height,coordinate_system,notes"
    remote = fork(base, tmp_path / "remote")
    with site(remote) as conn:
        load_coordinates(conn, write_csv(tmp_path / "g.csv", header, "CN001E01,1,2,3,WGS84,"))
    older = snapshot(base, PARTS_DB, tmp_path / "inputs")
    with closing(sqlite3.connect(older)) as conn:
        conn.execute("DROP TABLE grid_positions")
    check_candidate(older, PARTS_DB)
    remote_file = snapshot(remote, PARTS_DB, tmp_path / "inputs")
    report = merge_databases(PARTS_DB, older, older, remote_file, tmp_path / "out.db")
    assert report.conflicts == [] and (report.local_changes, report.remote_changes) == (0, 1)
    assert [row[0] for row in read(tmp_path / "out.db", PARTS_DB)["grid_positions"]] == ["CN001E01"]


def test_an_unreadable_input_is_a_merge_error_and_writes_nothing(
    base: Path, tmp_path: Path
) -> None:
    good = snapshot(base, ASSEMBLY_DB, tmp_path / "inputs")
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    with pytest.raises(MergeError, match="remote copy"):
        merge_databases(ASSEMBLY_DB, good, good, broken, tmp_path / "out.db")
    assert not (tmp_path / "out.db").exists()


# -- properties ---------------------------------------------------------------------------------

GRID = ("CN001E01", "CN001E02", "CN002E01", "CN002E02")
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(("connect", "connect", "disconnect", "add", "assign", "assign", "remove")),
        st.integers(0, 60),
        st.integers(0, 1),
    ),
    max_size=8,
)


def apply(conn: sqlite3.Connection, operations: list[tuple[str, int, int]], clock: int) -> int:
    """Replay random operations the way technicians would, each only where casman allows it;
    ``clock`` moves on by 0 or 1 s per step so events often share a second, and parts and
    placements are stamped with it too (one part number added at two sites in two different
    seconds is a conflict)."""
    for name, choice, step in operations:
        clock += step
        with (
            patch("casman.db.parts.now_iso", return_value=at(clock)),
            patch("casman.db.positions.now_iso", return_value=at(clock)),
        ):
            _apply_one(conn, name, choice, step, clock)
    return clock


def _apply_one(conn: sqlite3.Connection, name: str, choice: int, step: int, clock: int) -> None:
    parts = [row[0] for row in conn.execute("SELECT part_number FROM parts ORDER BY 1")]
    links = active_links(conn)
    if name == "connect":
        pairs = [
            (s, t)
            for s in parts
            for t in parts
            if s[:3] in ("ANT", "LNA")
            and t[:3] == {"ANT": "LNA", "LNA": "CXS"}[s[:3]]
            and s[-2:] == t[-2:]
            and s not in links.forward
            and t not in links.backward
        ]
        if pairs:
            link(conn, *pairs[choice % len(pairs)], clock)
    elif name == "disconnect" and links.forward:
        source = sorted(links.forward)[choice % len(links.forward)]
        unlink(conn, source, links.forward[source], clock)
    elif name == "add":
        kind = (PartType.ANTENNA, PartType.LNA, PartType.COAXSHORT)[choice % 3]
        add_parts(conn, kind, 1, ("P1", "P2")[step])
    elif name == "assign":
        antennas = sorted({p[:8] for p in parts if p.startswith("ANT")})
        with suppress(DomainError):  # already there, or another antenna holds it
            place(conn, antennas[choice // 4 % len(antennas)], GRID[choice % len(GRID)])
    elif name == "remove":
        placed = [row[0] for row in conn.execute("SELECT antenna_number FROM antenna_positions")]
        if placed:
            remove(conn, sorted(placed)[choice % len(placed)])


def antennas_named(report: MergeReport) -> set[str]:
    return {
        word.strip("(),")
        for c in report.conflicts
        if c.kind == "antenna_position"
        for word in f"{c.key} {c.kept} {c.other}".split()
        if word.startswith("ANT")
    }


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(OPERATIONS, OPERATIONS, OPERATIONS)
def test_merges_keep_everything_and_do_not_depend_on_the_order(
    on_base: list[tuple[str, int, int]],
    on_local: list[tuple[str, int, int]],
    on_remote: list[tuple[str, int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        base = root / "base"
        with site(base) as conn:
            stock(conn, 2)
            clock = apply(conn, on_base, 0)
        local, remote = fork(base, root / "local"), fork(base, root / "remote")
        with site(local) as conn:
            apply(conn, on_local, clock)
        with site(remote) as conn:
            apply(conn, on_remote, clock)
        files = {
            db_name: {
                name: snapshot(directory, db_name, root / "inputs")
                for name, directory in (("base", base), ("local", local), ("remote", remote))
            }
            for db_name in (PARTS_DB, ASSEMBLY_DB)
        }
        work = root / "work"
        work.mkdir()
        for db_name, given_files in files.items():
            b, lo, r = given_files["base"], given_files["local"], given_files["remote"]
            forward = merge_files(db_name, b, lo, r, work)
            backward = merge_files(db_name, b, r, lo, work)
            merged, swapped = read(forward, db_name), read(backward, db_name)
            report = merge_databases(db_name, b, lo, r, work / f"again-{db_name}")
            swapped_report = merge_databases(db_name, b, r, lo, work / f"swapped-{db_name}")

            if db_name == ASSEMBLY_DB:
                # every event of both sides, exactly once; the same rows and ids either way
                assert Counter(events(merged)) == Counter(events(read(lo, db_name))) | Counter(
                    events(read(r, db_name))
                )
                assert merged == swapped
                assert [row[0] for row in merged["assembly"]] == list(
                    range(1, len(merged["assembly"]) + 1)
                )
                assert events(merged) == [row[1:] for row in merged["assembly"]]
                assert all(c.kind == "connection" for c in report.conflicts)
            else:
                assert merged["parts"] == swapped["parts"]
                assert merged["grid_positions"] == swapped["grid_positions"]
                # the two orders differ only where a conflict says so
                named = antennas_named(report) | antennas_named(swapped_report)
                placed = {row[1:] for row in merged["antenna_positions"]}
                differ = placed ^ {row[1:] for row in swapped["antenna_positions"]}
                assert {row[0] for row in differ} <= named  # ids may shift, content may not
                assert {(c.kind, c.key) for c in report.conflicts if c.kind == "part"} == {
                    (c.kind, c.key) for c in swapped_report.conflicts if c.kind == "part"
                }

            # a side that did nothing: the merge is the other side's content
            unchanged = merge_files(db_name, b, lo, b, work)
            if db_name == ASSEMBLY_DB:
                assert events(read(unchanged, db_name)) == events(read(lo, db_name))
            else:
                assert without_ids(read(unchanged, db_name)) == without_ids(read(lo, db_name))

            # merging the result with itself changes nothing, ids included
            again = merge_files(db_name, b, forward, forward, work)
            assert read(again, db_name) == merged


# Events from a tiny alphabet, so sides often scan the very same event in the same second.
EVENT = st.tuples(
    st.sampled_from(("LNA00001P1", "LNA00002P1")),
    st.sampled_from(("CXS00001P1", "CXS00002P1")),
    st.integers(0, 3),
    st.sampled_from(("connected", "disconnected")),
)


def as_log(
    base: list[tuple[object, ...]], appended: list[tuple[str, str, int, str]]
) -> list[tuple[object, ...]]:
    """A copy holding ``base`` and then ``appended``, read back in (scan_time, id) order."""
    rows = list(base) + [
        (len(base) + n + 1, s, "LNA", "P1", at(t), c, "COAXSHORT", "P1", at(t), status)
        for n, (s, c, t, status) in enumerate(appended)
    ]
    return sorted(rows, key=lambda row: (row[4], row[0]))


def log_of(result: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [row[1:] for row in result]


@settings(max_examples=100, deadline=None)
@given(st.lists(EVENT, max_size=5), st.lists(EVENT, max_size=6), st.lists(EVENT, max_size=6))
def test_the_log_merge_is_a_symmetric_union_that_keeps_each_sides_order(
    on_base: list[tuple[str, str, int, str]],
    on_local: list[tuple[str, str, int, str]],
    on_remote: list[tuple[str, str, int, str]],
) -> None:
    base = as_log([], on_base)
    local, remote = as_log(base, on_local), as_log(base, on_remote)
    merged = merge_assembly(base, local, remote).tables["assembly"]
    assert merged == merge_assembly(base, remote, local).tables["assembly"]
    assert Counter(log_of(merged)) == Counter(log_of(local)) | Counter(log_of(remote))
    assert [row[0] for row in merged] == list(range(1, len(merged) + 1))
    assert [row[4] for row in merged] == sorted(row[4] for row in merged)
    # a side that did nothing leaves the other's log as it was, order included
    assert log_of(merge_assembly(base, local, base).tables["assembly"]) == log_of(local)
    assert log_of(merge_assembly(base, base, remote).tables["assembly"]) == log_of(remote)
    # merging a result with itself changes nothing
    assert merge_assembly(base, merged, merged).tables["assembly"] == merged
