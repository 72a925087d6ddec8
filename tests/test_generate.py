"""Generated grid_positions.csv and snap_boards.csv: they reproduce the survey and load cleanly."""

from __future__ import annotations

import csv
import errno
import math
import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casman.db.connection import open_databases
from casman.db.positions import all_coordinates, load_coordinates
from casman.db.snap_boards import all_boards, load_boards
from casman.errors import CasmanError, UsageError
from casman.generate import (
    GridLayout,
    generate_grid,
    generate_snap_boards,
    grid_csv_text,
    offset_to_degrees,
    parse_columns,
    parse_spacings,
    snap_csv_text,
)
from casman.userfiles import output_target, write_output
from tests.conftest import GRID_CSV, SNAP_CSV, Casman

REFERENCE = (37.234286, -118.283416, 1183.81)
NOTE = "Generated from CC000E01 reference on 2026-02-06"


def _real_rows() -> dict[str, dict[str, str]]:
    with GRID_CSV.open(newline="") as handle:
        return {row["grid_code"]: row for row in csv.DictReader(handle)}


def test_defaults_reproduce_the_surveyed_file() -> None:
    real = _real_rows()
    rows = generate_grid(*REFERENCE)
    assert [row.grid_code for row in rows] == list(real)  # same positions, same order
    generated_by_tool = [code for code, row in real.items() if row["notes"] == NOTE]
    assert len(generated_by_tool) == 257  # all but the hand-placed outrigger CS021E06
    for row in rows:
        if row.grid_code in generated_by_tool:
            assert abs(row.latitude - float(real[row.grid_code]["latitude"])) < 1e-9
            assert abs(row.longitude - float(real[row.grid_code]["longitude"])) < 1e-9


def test_defaults_reproduce_the_file_text_line_for_line() -> None:
    generated = grid_csv_text(generate_grid(*REFERENCE, notes=NOTE)).splitlines()
    real = GRID_CSV.read_text().splitlines()
    assert generated[0] == real[0]
    differing = [line for line, want in zip(generated, real, strict=True) if line != want]
    assert len(differing) == 1 and differing[0].startswith("CS021E06,")


@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-179.9, 179.9),
    north=st.integers(0, 4),
    south=st.integers(0, 4),
    row_spacing=st.floats(0.1, 20),
    gaps=st.lists(st.floats(0.1, 5), min_size=1, max_size=3),
)
def test_spacings_in_metres_come_back_out(
    lat: float, lon: float, north: int, south: int, row_spacing: float, gaps: list[float]
) -> None:
    layout = GridLayout(north, south, 1, 4, row_spacing, tuple(gaps))
    rows = {r.grid_code: r for r in generate_grid(lat, lon, 10.0, layout=layout)}
    metres_per_degree = math.radians(1) * 6_378_137.0
    reference = rows["CC000E01"]
    assert (reference.latitude, reference.longitude) == (lat, lon)
    if north:
        step = rows["CN001E01"].latitude - lat
        assert step * metres_per_degree == pytest.approx(row_spacing, abs=1e-6)  # a micrometre
    east = rows["CC000E02"].longitude - lon
    east_m = east * metres_per_degree * math.cos(math.radians(lat))
    assert east_m == pytest.approx(gaps[0], abs=1e-6)
    assert len(rows) == (north + south + 1) * 4


@settings(max_examples=25, deadline=None)
@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-179.99, 179.99),
    height=st.floats(-400, 8000),
    north=st.integers(0, 25),
    south=st.integers(0, 25),
    first=st.integers(0, 10),
    width=st.integers(0, 8),
    reference_row=st.integers(-3, 3),
)
def test_generated_grid_csv_loads_cleanly(
    lat: float,
    lon: float,
    height: float,
    north: int,
    south: int,
    first: int,
    width: int,
    reference_row: int,
) -> None:
    layout = GridLayout(max(north, 3), max(south, 3), first, first + width)
    direction = "N" if reference_row > 0 else "S" if reference_row < 0 else "C"
    code = f"C{direction}{abs(reference_row):03d}E{first:02d}"
    rows = generate_grid(lat, lon, height, reference_code=code, layout=layout, notes="gen, test")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grid_positions.csv"
        path.write_text(grid_csv_text(rows))
        conn = open_databases(Path(folder) / "db")
        try:
            report = load_coordinates(conn, path)
            stored = all_coordinates(conn)
        finally:
            conn.close()
    assert report.loaded == len(rows)
    assert stored[code].latitude == pytest.approx(lat, abs=1e-9)
    assert stored[code].notes == "gen, test"


@given(chassis=st.integers(1, 4))
def test_generated_boards_are_unique_and_sequential(chassis: int) -> None:
    boards = generate_snap_boards(chassis, "placeholder")
    assert len(boards) == 11 * chassis
    assert [b.feng_id for b in boards] == list(range(11 * chassis))
    for attribute in ("serial_number", "mac_address", "ip_address"):
        assert len({getattr(b, attribute) for b in boards}) == len(boards)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "snap_boards.csv"
        path.write_text(snap_csv_text(boards))
        conn = open_databases(Path(folder) / "db")
        try:
            assert load_boards(conn, path).loaded == len(boards)
            loaded = all_boards(conn)
        finally:
            conn.close()
    assert sorted(b.board.name for b in loaded.values())[-1] == f"SNAP{chassis}K"


def test_snap_csv_has_the_deployed_header() -> None:
    header = SNAP_CSV.read_text().splitlines()[0]
    text = snap_csv_text(generate_snap_boards(1, "Generated on 2025-12-17"))
    assert text.splitlines()[0] == header
    first = "1,A,SN01,00:11:22:33:01:00,192.168.1.1,0,Generated on 2025-12-17"
    assert text.splitlines()[1] == first


@pytest.mark.parametrize(
    ("text", "expected"), [("1-6", (1, 6)), (" 0 - 9 ", (0, 9)), ("3", (3, 3))]
)
def test_parse_columns(text: str, expected: tuple[int, int]) -> None:
    assert parse_columns(text) == expected


@pytest.mark.parametrize("text", ["6-1", "a-b", "1-100", "", "1-2-3"])
def test_parse_columns_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_columns(text)


@pytest.mark.parametrize("text", ["0", "-1", "x", "0.5,nan", ","])
def test_parse_spacings_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_spacings(text)


def test_bad_reference_is_refused() -> None:
    with pytest.raises(UsageError):
        generate_grid(*REFERENCE, reference_code="CC000E09")
    with pytest.raises(CasmanError):
        generate_grid(*REFERENCE, reference_code="NC000E01")
    with pytest.raises(UsageError):
        offset_to_degrees(1.0, 1.0, 90.0)
    with pytest.raises(UsageError):
        generate_snap_boards(5)


def test_cli_generate_coordinates_then_load(casman: Casman, tmp_path: Path) -> None:
    out = tmp_path / "grid.csv"
    args = (
        "antenna",
        "generate-coordinates",
        "--reference-lat",
        "37.234286",
        "--reference-lon",
        "-118.283416",
        "--reference-height",
        "1183.81",
        "--output",
        str(out),
    )
    assert "Wrote 258 grid positions" in casman.ok(*args).output
    lines = out.read_text().splitlines()
    real = GRID_CSV.read_text().splitlines()
    assert lines[1].split(",")[:5] == real[1].split(",")[:5]
    assert casman.fails(*args).stderr.strip().endswith("use --force to overwrite it")
    casman.ok(
        *args,
        "--force",
        "--notes",
        "resurveyed",
        "--north-rows",
        "2",
        "--south-rows",
        "1",
        "--columns",
        "1-2",
        "--col-spacing-m",
        "0.4",
    )
    rows = out.read_text().splitlines()
    assert len(rows) == 1 + 4 * 2 and rows[1].endswith(",WGS84,resurveyed")
    assert "8 loaded" in casman.ok("database", "load-coordinates", "--csv", str(out)).output
    assert casman.fails(*args, "--force", "--columns", "x", code=2)
    assert not list(tmp_path.glob(".grid.csv.*"))  # no temp files left behind


def test_cli_generate_snap_csv_then_load(casman: Casman, tmp_path: Path) -> None:
    out = tmp_path / "boards.csv"
    result = casman.ok(
        "snap", "generate-csv", "--chassis", "2", "--output", str(out), "--notes", "bench test"
    )
    assert "Wrote 22 SNAP boards" in result.output
    assert "22 loaded" in casman.ok("database", "load-snap-boards", "--csv", str(out)).output
    casman.fails("snap", "generate-csv", "--output", str(out))
    casman.ok("snap", "generate-csv", "--output", str(out), "--force")
    assert len(out.read_text().splitlines()) == 45
    casman.fails("snap", "generate-csv", "--chassis", "5", "--output", str(out), code=2)
    casman.fails("snap", "generate-csv", "--output", str(tmp_path / "no" / "such.csv"))


# Every command that writes a user-named output, given its --output path.
GRID_ARGS = ("--reference-lat", "37.234286", "--reference-lon", "-118.283416")
WRITERS: dict[str, tuple[str, ...]] = {
    "generate-coordinates": (
        "antenna",
        "generate-coordinates",
        *GRID_ARGS,
        "--reference-height",
        "1183.81",
    ),
    "snap-generate-csv": ("snap", "generate-csv"),
    "antenna-plot": ("antenna", "plot", "--csv", str(GRID_CSV)),
}


def _one_line_refusal(casman: Casman, *args: str, code: int = 1) -> str:
    result = casman.fails(*args, code=code)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


def _no_temp_files(folder: Path) -> None:
    assert not [path.name for path in folder.iterdir() if path.name.endswith(".tmp")]


@pytest.mark.parametrize("writer", WRITERS, ids=str)
@pytest.mark.parametrize("force", [True, False], ids=["force", "no-force"])
def test_a_fifo_output_is_never_replaced(
    casman: Casman, tmp_path: Path, writer: str, force: bool
) -> None:
    """``--output`` naming a FIFO (as root, the same code replaced a device node)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    target = tmp_path / "out.pipe"
    os.mkfifo(target)
    flags = ("--force",) if force else ()
    line = _one_line_refusal(casman, *WRITERS[writer], "--output", str(target), *flags)
    assert "is a FIFO (named pipe), not a regular file" in line
    assert stat.S_ISFIFO(os.lstat(target).st_mode)
    _no_temp_files(tmp_path)


@pytest.mark.parametrize("writer", WRITERS, ids=str)
def test_a_symlink_to_a_fifo_is_refused_too(casman: Casman, tmp_path: Path, writer: str) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    fifo = tmp_path / "real.pipe"
    os.mkfifo(fifo)
    link = tmp_path / "out.csv"
    link.symlink_to(fifo)
    line = _one_line_refusal(casman, *WRITERS[writer], "--output", str(link), "--force")
    assert "through the symbolic link" in line and "FIFO" in line
    assert link.is_symlink() and stat.S_ISFIFO(os.stat(link).st_mode)


@pytest.mark.parametrize("writer", WRITERS, ids=str)
def test_a_directory_output_is_refused(casman: Casman, tmp_path: Path, writer: str) -> None:
    folder = tmp_path / "out.csv"
    folder.mkdir()
    (folder / "keep").write_text("kept")
    line = _one_line_refusal(casman, *WRITERS[writer], "--output", str(folder), "--force", code=2)
    assert "is a directory" in line
    assert (folder / "keep").read_text() == "kept"


def test_output_target_refuses_special_files_directly(tmp_path: Path) -> None:
    """The shared check itself, for a directory (which click's option type hides from it)
    and a symlink to one; a symlink to a regular file is followed and the link kept."""
    folder = tmp_path / "folder"
    folder.mkdir()
    for force in (True, False):
        with pytest.raises(CasmanError, match="is a directory, not a regular file"):
            output_target(folder, force=force)
    link = tmp_path / "link"
    link.symlink_to(folder)
    with pytest.raises(CasmanError, match="through the symbolic link"):
        output_target(link, force=True)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(CasmanError, match="which does not exist"):
        output_target(dangling, force=True)
    real = tmp_path / "real.csv"
    real.write_text("old")
    to_real = tmp_path / "to_real.csv"
    to_real.symlink_to(real)
    write_output(to_real, "new", force=True)
    assert to_real.is_symlink() and real.read_text() == "new"
    assert output_target(tmp_path / "fresh.csv", force=False) == tmp_path / "fresh.csv"


@pytest.mark.parametrize("writer", WRITERS, ids=str)
@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), None])
def test_a_failed_write_leaves_no_temp_file_and_the_old_output(
    casman: Casman,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    writer: str,
    failure: OSError | None,
) -> None:
    """Disk full (or Ctrl-C) while the output is written: the old file is intact and the
    temp file beside it is gone."""
    target = tmp_path / "out.file"
    target.write_text("previous")
    raised: BaseException = failure if failure is not None else KeyboardInterrupt()

    def fail(fd: int) -> None:
        raise raised

    monkeypatch.setattr(os, "fsync", fail)
    result = casman.fails(
        *WRITERS[writer],
        "--output",
        str(target),
        "--force",
        code=1 if failure is not None else 130,  # Ctrl-C exits 130, as shells expect
    )
    expected = "No space left on device" if failure is not None else "Interrupted."
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert target.read_text() == "previous"
    _no_temp_files(tmp_path)
