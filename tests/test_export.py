"""``casman antenna export``: the packet-index map, against the real boards of examples/data."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from casman.array import PACKET_MAP_COLUMNS
from tests.conftest import GRID_CSV, SNAP_CSV, Casman, add_all_types, build_chain, fingerprint

HEADER = (
    "packet_index,antenna,polarization,grid_code,kernel_index,latitude,longitude,height,"
    "coordinate_system,board,port,snap_port,feng_id"
)


def _real_boards() -> dict[str, int]:
    """Board name → feng id, read straight from the deployed CSV (not through casman)."""
    with SNAP_CSV.open(newline="") as handle:
        return {f"SNAP{r['chassis']}{r['slot']}": int(r["feng_id"]) for r in csv.DictReader(handle)}


@pytest.fixture
def wired(casman: Casman) -> Casman:
    """Three antennas on boards whose feng ids are not in chassis order."""
    add_all_types(casman, 3, "1")
    add_all_types(casman, 3, "2")
    casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV))
    casman.ok("database", "load-coordinates", "--csv", str(GRID_CSV))
    build_chain(casman, 1, "P1", "SNAP1A05")
    build_chain(casman, 1, "P2", "SNAP1B03")
    build_chain(casman, 2, "P1", "SNAP2C07")
    build_chain(casman, 3, "P2", "SNAP4F00")
    casman.ok("antenna", "assign", "ANT00001", "CN002E03")
    casman.ok("antenna", "assign", "ANT00002", "CC000E01")
    casman.ok("antenna", "assign", "ANT00003", "CS021E05")  # a position the kernel lacks
    return casman


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_map_of_the_connected_inputs(wired: Casman) -> None:
    feng = _real_boards()
    text = wired.ok("antenna", "export").output
    assert text.splitlines()[0] == HEADER == ",".join(PACKET_MAP_COLUMNS)
    rows = _rows(text)
    expected = [
        (feng["SNAP1A"] * 12 + 5, "ANT00001", "P1", "CN002E03", "116", "SNAP1A05"),
        (feng["SNAP1B"] * 12 + 3, "ANT00001", "P2", "CN002E03", "116", "SNAP1B03"),
        (feng["SNAP2C"] * 12 + 7, "ANT00002", "P1", "CC000E01", "126", "SNAP2C07"),
        (feng["SNAP4F"] * 12 + 0, "ANT00003", "P2", "CS021E05", "", "SNAP4F00"),
    ]
    expected.sort()
    assert [
        (
            int(r["packet_index"]),
            r["antenna"],
            r["polarization"],
            r["grid_code"],
            r["kernel_index"],
            r["snap_port"],
        )
        for r in rows
    ] == expected
    first = next(r for r in rows if r["snap_port"] == "SNAP1A05")
    assert first["latitude"] == "37.234294999" and first["longitude"] == "-118.283406692"
    assert (first["height"], first["coordinate_system"]) == ("1183.81", "WGS84")
    assert (first["board"], first["port"], first["feng_id"]) == ("SNAP1A", "5", "0")


def test_json_map_has_the_same_rows_in_column_order(wired: Casman) -> None:
    as_csv = _rows(wired.ok("antenna", "export", "--format", "csv").output)
    as_json = json.loads(wired.ok("antenna", "export", "--format", "json").output)
    assert all(tuple(row) == PACKET_MAP_COLUMNS for row in as_json)
    assert [{k: "" if v is None else str(v) for k, v in row.items()} for row in as_json] == as_csv
    unmapped = next(row for row in as_json if row["antenna"] == "ANT00003")
    assert unmapped["kernel_index"] is None and unmapped["packet_index"] == 60


def test_all_ports_cover_every_real_board(wired: Casman) -> None:
    feng = _real_boards()
    rows = json.loads(wired.ok("antenna", "export", "--all-ports", "--format", "json").output)
    assert len(rows) == len(feng) * 12 == 39 * 12
    assert [row["packet_index"] for row in rows] == sorted(row["packet_index"] for row in rows)
    for row in rows:
        assert row["packet_index"] == feng[row["board"]] * 12 + row["port"]
        assert row["feng_id"] == feng[row["board"]]
        assert row["snap_port"] == f"{row['board']}{row['port']:02d}"
    assert sum(1 for row in rows if row["antenna"]) == 4
    empty = next(row for row in rows if row["snap_port"] == "SNAP1A06")
    assert [empty[c] for c in ("antenna", "polarization", "grid_code", "kernel_index")] == [
        None,
        None,
        None,
        None,
    ]


def test_export_to_a_file_never_clobbers_and_leaves_the_databases_alone(
    wired: Casman, db_dir: Path, tmp_path: Path
) -> None:
    before = fingerprint(db_dir)
    target = tmp_path / "packet_map.csv"
    out = wired.ok("antenna", "export", "--output", str(target)).output
    assert out == f"Wrote 4 input(s) to {target}\n"
    assert target.read_text().splitlines()[0] == HEADER
    assert "exists" in wired.fails("antenna", "export", "--output", str(target)).stderr
    wired.ok("antenna", "export", "--format", "json", "--output", str(target), "--force")
    assert json.loads(target.read_text())[0]["antenna"] == "ANT00001"
    assert fingerprint(db_dir) == before


def test_export_of_a_missing_database_creates_nothing(casman: Casman, db_dir: Path) -> None:
    result = casman.fails("antenna", "export")
    assert "does not exist" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not db_dir.exists()


def test_empty_array_exports_a_header_only(casman: Casman) -> None:
    casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV))
    assert casman.ok("antenna", "export").output == HEADER + "\n"
    assert casman.ok("antenna", "export", "--format", "json").output == "[]\n"
