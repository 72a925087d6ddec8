"""Generators and loaders agree on where the deployment CSVs go, and each says where.

A user of the old tool runs the generator and then the loader with no options; the file
the first writes must be the one the second reads (the database directory), and both name
the absolute path they used.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Casman

GRID = ("--reference-lat", "37.234286", "--reference-lon", "-118.283416", "--reference-height", "1")


def test_snap_csv_goes_where_the_loader_reads_it(casman: Casman, db_dir: Path) -> None:
    wrote = casman.ok("snap", "generate-csv", "--chassis", "1").stdout
    target = (db_dir / "snap_boards.csv").resolve()
    assert f"Wrote 11 SNAP boards to {target}" in wrote
    assert "load them with `casman database load-snap-boards`" in wrote
    loaded = casman.ok("database", "load-snap-boards").stdout
    assert f"from {target}" in loaded and "11 loaded" in loaded
    assert not Path("snap_boards.csv").exists()  # nothing in the current directory


def test_grid_csv_goes_where_the_loader_reads_it(casman: Casman, db_dir: Path) -> None:
    args = ("antenna", "generate-coordinates", *GRID, "--north-rows", "1", "--south-rows", "0")
    wrote = casman.ok(*args).stdout
    target = (db_dir / "grid_positions.csv").resolve()
    assert f"Wrote 12 grid positions to {target}" in wrote
    assert "load them with `casman database load-coordinates`" in wrote
    loaded = casman.ok("database", "load-coordinates").stdout
    assert f"from {target}" in loaded and "12 loaded" in loaded


def test_an_output_elsewhere_names_the_option_the_loader_needs(
    casman: Casman, tmp_path: Path
) -> None:
    out = tmp_path / "boards" / "mine.csv"
    out.parent.mkdir()
    wrote = casman.ok("snap", "generate-csv", "--output", str(out)).stdout
    assert f"load them with `casman database load-snap-boards --csv {out}`" in wrote
    assert "44 loaded" in casman.ok("database", "load-snap-boards", "--csv", str(out)).stdout


def test_a_loader_names_a_file_left_in_the_current_directory(
    casman: Casman, db_dir: Path, tmp_path: Path
) -> None:
    """An older casman's generator wrote to the current directory: the loader says so."""
    casman.ok("snap", "generate-csv", "--output", "snap_boards.csv")  # cwd is tmp_path
    result = casman.fails("database", "load-snap-boards")
    (line,) = result.stderr.strip().splitlines()
    expected = (db_dir / "snap_boards.csv").resolve()
    assert f"no --csv given and {expected} does not exist" in line
    assert (
        f"{(tmp_path / 'snap_boards.csv').resolve()} exists, so pass --csv snap_boards.csv" in line
    )
