"""Antenna positions, coordinates, SNAP boards and the CSV loads, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import GRID_CSV, SNAP_CSV, Casman, add_all_types, build_chain


def _loaded(casman: Casman) -> None:
    casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV))
    casman.ok("database", "load-coordinates", "--csv", str(GRID_CSV))


def test_real_files_load_and_reload_reports_unchanged(casman: Casman) -> None:
    first = casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV)).output
    assert "39 loaded, 0 updated, 0 unchanged" in first
    again = casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV)).output
    assert "0 loaded, 0 updated, 39 unchanged" in again
    grid = casman.ok("database", "load-coordinates", "--csv", str(GRID_CSV)).output
    assert "258 loaded" in grid


def test_three_digit_serials_keep_their_zeros(casman: Casman) -> None:
    _loaded(casman)
    board = json.loads(casman.ok("snap", "show", "SNAP4A", "--json").output)
    assert board["config"]["serial_number"] == "099"


def test_swapping_feng_ids_in_one_file_works(casman: Casman, tmp_path: Path) -> None:
    casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV))
    lines = SNAP_CSV.read_text().splitlines()
    a, b = lines[1].split(","), lines[2].split(",")
    a[5], b[5] = b[5], a[5]
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("\n".join([lines[0], ",".join(a), ",".join(b), *lines[3:]]) + "\n")
    report = casman.ok("database", "load-snap-boards", "--csv", str(swapped)).output
    assert "0 loaded, 2 updated, 37 unchanged" in report
    first = json.loads(casman.ok("snap", "show", f"SNAP{a[0]}{a[1]}", "--json").output)
    assert first["config"]["feng_id"] == int(a[5])
    assert first["ports"][3]["packet_index"] == int(a[5]) * 12 + 3


def test_assign_show_and_coordinates(casman: Casman) -> None:
    add_all_types(casman, 1, "1")
    add_all_types(casman, 1, "2")
    _loaded(casman)
    build_chain(casman, 1, "P1", "SNAP1C03")
    build_chain(casman, 1, "P2", "SNAP1C04")
    casman.ok("antenna", "assign", "ANT00001P1", "cn002e03")
    report = json.loads(casman.ok("antenna", "show", "ANT00001", "--json").output)
    assert report["grid_code"] == "CN002E03"
    assert report["coordinates"]["latitude"] == 37.234294999
    assert report["position"]["latitude"] == 37.234294999
    board_1c_feng = 3  # real file: 1,C,166,...,feng 3
    assert report["signals"]["P1"]["packet_index"] == board_1c_feng * 12 + 3
    assert report["signals"]["P2"]["packet_index"] == board_1c_feng * 12 + 4
    by_code = json.loads(casman.ok("antenna", "show", "CN002E03", "--json").output)
    assert by_code["antenna_number"] == "ANT00001"
    text = casman.ok("antenna", "show", "CN002E03").output
    assert "packet index 40" in text and "SNAP1C04" in text
    listing = json.loads(casman.ok("antenna", "list", "--json").output)
    assert [(p["antenna_number"], p["grid_code"]) for p in listing] == [("ANT00001", "CN002E03")]


def test_coordinates_loaded_after_assignment_fill_in(casman: Casman) -> None:
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("antenna", "assign", "ANT00001", "CS021E01")
    assert json.loads(casman.ok("antenna", "list", "--json").output)[0]["latitude"] is None
    casman.ok("database", "load-coordinates", "--csv", str(GRID_CSV))
    assert json.loads(casman.ok("antenna", "list", "--json").output)[0]["latitude"] == 37.234191511


def test_one_antenna_per_position_and_force_moves(casman: Casman) -> None:
    casman.ok("parts", "add", "ANTENNA", "2", "1")
    casman.ok("antenna", "assign", "ANT00001", "CC000E01")
    assert (
        "already holds ANT00001" in casman.fails("antenna", "assign", "ANT00002", "CC000E01").stderr
    )
    assert "--force" in casman.fails("antenna", "assign", "ANT00001", "CC000E02").stderr
    casman.ok("antenna", "assign", "ANT00001", "CC000E02", "--force")
    casman.ok("antenna", "assign", "ANT00002", "CC000E01")
    casman.ok("antenna", "remove", "ANT00001")
    assert "not assigned" in casman.fails("antenna", "remove", "ANT00001").stderr
    unassigned = json.loads(casman.ok("antenna", "show", "CC000E02", "--json").output)
    assert unassigned["antenna_number"] is None


def test_unknown_antenna_cannot_be_assigned(casman: Casman) -> None:
    assert "does not exist" in casman.fails("antenna", "assign", "ANT00009", "CC000E01").stderr


def test_geometry_from_config_is_enforced(casman: Casman, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "grid:\n  arrays:\n    C: {north_rows: 21, south_rows: 21, columns: [1, 6]}\n"
    )
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    assert "outside array C" in casman.fails("antenna", "assign", "ANT00001", "CN022E01").stderr
    casman.ok("antenna", "assign", "ANT00001", "CN021E06")


def test_snap_show_lists_twelve_ports_and_what_reaches_them(casman: Casman) -> None:
    add_all_types(casman, 1, "2")
    _loaded(casman)
    build_chain(casman, 1, "P2", "SNAP1A11")
    casman.ok("antenna", "assign", "ANT00001", "CS001E04")
    board = json.loads(casman.ok("snap", "show", "snap1a", "--json").output)
    assert board["config"]["serial_number"] == "152" and board["config"]["feng_id"] == 0
    assert [p["packet_index"] for p in board["ports"]] == list(range(12))
    port = board["ports"][11]
    assert (port["antenna"], port["polarization"], port["grid_code"]) == (
        "ANT00001P2",
        "P2",
        "CS001E04",
    )
    assert all(p["antenna"] is None for p in board["ports"][:11])
    assert "not configured" in casman.ok("snap", "show", "SNAP4K").output


def test_database_print_shows_every_table(casman: Casman) -> None:
    add_all_types(casman, 1, "1")
    build_chain(casman, 1, "P1", "SNAP1A00")
    out = casman.ok("database", "print").output
    for table in ("parts", "antenna_positions", "snap_boards", "grid_positions", "assembly"):
        assert f"== {table} (" in out
    assert "== assembly (5 rows) ==" in out


def test_show_and_list_give_the_kernel_index(casman: Casman) -> None:
    casman.ok("parts", "add", "ANTENNA", "3", "1")
    casman.ok("database", "load-coordinates", "--csv", str(GRID_CSV))
    casman.ok("antenna", "assign", "ANT00001", "CN001E01")
    casman.ok("antenna", "assign", "ANT00002", "CS021E06")
    shown = json.loads(casman.ok("antenna", "show", "ANT00001", "--json").output)
    assert (shown["kernel_index"], shown["kernel_index_note"]) == (120, None)
    assert "  kernel index: 120\n" in casman.ok("antenna", "show", "ANT00001").output
    unmapped = json.loads(casman.ok("antenna", "show", "ANT00002", "--json").output)
    assert unmapped["kernel_index"] is None
    assert "CS021E06 is not mapped" in unmapped["kernel_index_note"]
    text = casman.ok("antenna", "show", "CS021E05").output  # an empty position
    assert "kernel index: none (CS021E05 is not mapped: it would be kernel index 256" in text
    by_code = json.loads(casman.ok("antenna", "show", "CC000E06", "--json").output)
    assert by_code["antenna_number"] is None and by_code["kernel_index"] == 131
    unplaced = json.loads(casman.ok("antenna", "show", "ANT00003", "--json").output)
    assert unplaced["kernel_index"] is None
    assert unplaced["kernel_index_note"] == "ANT00003 is not assigned to a grid position"
    listing = json.loads(casman.ok("antenna", "list", "--json").output)
    assert [(p["grid_code"], p["kernel_index"]) for p in listing] == [
        ("CN001E01", 120),
        ("CS021E06", None),
    ]
    table = casman.ok("antenna", "list").output.splitlines()
    assert table[0].split()[:3] == ["ANTENNA", "GRID", "KERNEL"]
    assert table[1].split()[:3] == ["ANT00001", "CN001E01", "120"]
    assert table[2].split()[:3] == ["ANT00002", "CS021E06", "-"]


def test_kernel_index_configuration_reaches_the_cli(casman: Casman, tmp_path: Path) -> None:
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("antenna", "assign", "ANT00001", "CC000E02")
    (tmp_path / "config.yaml").write_text("grid:\n  kernel_index:\n    C: {max_index: 126}\n")
    shown = json.loads(casman.ok("antenna", "show", "ANT00001", "--json").output)
    assert shown["kernel_index"] is None
    assert "past the last one (126)" in shown["kernel_index_note"]
    (tmp_path / "config.yaml").write_text("grid:\n  kernel_index:\n    C: {max_idx: 1}\n")
    error = casman.fails("antenna", "show", "ANT00001").stderr
    assert "max_idx is not a kernel setting" in error and len(error.strip().splitlines()) == 1
