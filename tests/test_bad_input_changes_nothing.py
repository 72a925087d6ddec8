"""Every invalid input: one line on stderr, exit 1 (2 for usage), both files unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SNAP_CSV, Casman, add_all_types, build_chain, fingerprint

BAD_COMMANDS = [
    ("assembly", "connect", "ANT00001P1", "LNA00001P2"),  # polarization
    ("assembly", "connect", "ANT00002P1", "CXS00002P1"),  # chain order
    ("assembly", "connect", "ANT00002P1", "LNA00001P1"),  # LNA already has an input
    ("assembly", "connect", "ANT00001P1", "LNA00002P1"),  # second outgoing
    ("assembly", "connect", "ANT00001P1", "LNA00001P1"),  # already connected
    ("assembly", "connect", "ANT00002P1", "LNA00099P1"),  # unknown part
    ("assembly", "connect", "ANT00002P1", "ANT00002P1"),  # itself
    ("assembly", "connect", "SNAP010101", "BAC00002P1"),  # SNAP as a source
    ("assembly", "connect", "BAC00002P1", "SNAP050101"),  # no chassis 5
    ("assembly", "connect", "BAC00002P1", "SNAP1A00"),  # port taken
    ("assembly", "connect", "ANT0001P1", "LNA00002P1"),  # malformed
    ("assembly", "disconnect", "ANT00002P1", "LNA00002P1"),  # not connected
    ("parts", "add", "ANTENNA", "3", "P7"),
    ("parts", "add", "WIDGET", "3", "1"),
    ("antenna", "assign", "ANT00001", "CX002E03"),
    ("antenna", "assign", "ANT00001", "CN000E01"),
    ("antenna", "assign", "ANT00077", "CN002E03"),
    ("antenna", "assign", "LNA00001", "CN002E03"),
    ("antenna", "remove", "ANT00002"),
    ("antenna", "show", "ANT00099"),
    ("antenna", "show", "CN02E03"),
    ("snap", "show", "SNAP5A"),
    ("database", "load-snap-boards", "--csv", "does-not-exist.csv"),
    ("database", "print", "--table", "nope"),
]


@pytest.fixture
def populated(casman: Casman) -> Casman:
    add_all_types(casman, 2, "1")
    add_all_types(casman, 2, "2")
    casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV))
    build_chain(casman, 1, "P1", "SNAP1A00")
    casman.ok("antenna", "assign", "ANT00001", "CN002E03")
    return casman


@pytest.mark.parametrize("args", BAD_COMMANDS, ids=lambda a: " ".join(a))
def test_bad_command_is_one_line_and_changes_nothing(
    populated: Casman, args: tuple[str, ...]
) -> None:
    before = fingerprint(populated.directory)
    result = populated.fails(*args)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert result.stdout == ""
    assert fingerprint(populated.directory) == before


BAD_CSV_ROWS = [
    "1,A,500,00:00:00:00:00:01,10.0.0.1,0,ok\n1,A,501,00:00:00:00:00:02,10.0.0.2,1,dup board",
    "1,A,500,00:00:00:00:00:01,10.0.0.1,44,feng too big",
    "5,A,500,00:00:00:00:00:01,10.0.0.1,0,chassis 5",
    "1,Z,500,00:00:00:00:00:01,10.0.0.1,0,slot Z",
    "1,A,500,00:00:00:00:00:0Z,10.0.0.1,0,bad mac",
    "1,A,500,00:00:00:00:00:01,10.0.0.999,0,bad ip",
    "1,A,500,00:00:00:00:00:01,10.0.0.1,0,ok\n1,B,500,00:00:00:00:00:02,10.0.0.2,1,dup serial",
]


@pytest.mark.parametrize("rows", BAD_CSV_ROWS)
def test_bad_snap_csv_loads_nothing(populated: Casman, tmp_path: Path, rows: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("chassis,slot,sn,mac,ip,feng_id,notes\n" + rows + "\n")
    before = fingerprint(populated.directory)
    result = populated.fails("database", "load-snap-boards", "--csv", str(path))
    assert "line " in result.stderr and "nothing was loaded" in result.stderr
    assert fingerprint(populated.directory) == before


def test_every_bad_row_is_reported_with_its_line(populated: Casman, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    good = SNAP_CSV.read_text().splitlines()
    good[3] = good[3].replace(",192.", ",999.")
    good[7] = good[7].replace("1,G,", "9,G,")
    path.write_text("\n".join(good) + "\n")
    result = populated.fails("database", "load-snap-boards", "--csv", str(path))
    assert "2 problem(s)" in result.stderr
    assert "line 4:" in result.stderr and "line 8:" in result.stderr


def test_feng_id_clash_with_a_board_not_in_the_file(populated: Casman, tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text(
        "chassis,slot,sn,mac,ip,feng_id,notes\n4,K,999,00:00:00:00:00:01,10.9.9.9,0,clash\n"
    )
    before = fingerprint(populated.directory)
    result = populated.fails("database", "load-snap-boards", "--csv", str(path))
    assert "already used by board SNAP1A" in result.stderr
    assert fingerprint(populated.directory) == before


def test_bad_coordinates_csv_loads_nothing(populated: Casman, tmp_path: Path) -> None:
    path = tmp_path / "grid.csv"
    path.write_text(
        "grid_code,latitude,longitude,height,coordinate_system,notes\n"
        "CN001E01,37.2,-118.2,1183,WGS84,ok\nCN01E01,37.2,-118.2,1183,WGS84,bad code\n"
        "CN001E02,97.2,-118.2,1183,WGS84,bad lat\nCN001E01,37.2,-118.2,1183,WGS84,dup\n"
    )
    before = fingerprint(populated.directory)
    result = populated.fails("database", "load-coordinates", "--csv", str(path))
    assert "3 problem(s)" in result.stderr
    assert fingerprint(populated.directory) == before


def test_unreadable_database_file_is_one_line(casman: Casman) -> None:
    casman.directory.mkdir(parents=True)
    (casman.directory / "assembled_casm.db").write_bytes(b"garbage" * 1000)
    result = casman.fails("parts", "list")
    assert "not a readable SQLite database" in result.stderr
    assert (casman.directory / "assembled_casm.db").read_bytes() == b"garbage" * 1000
