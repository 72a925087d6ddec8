"""``casman antenna plot``: a PNG of the grid with every position and the assigned antennas."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from casman.cli.antenna_tools_cmd import PlotPoint, grid_figure, read_points_csv
from casman.errors import CasmanError
from tests.conftest import GRID_CSV, Casman, add_all_types

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _by_gid(figure: Any, gid: str) -> list[Any]:
    axes = figure.axes[0]
    return [artist for artist in (*axes.collections, *axes.texts) if artist.get_gid() == gid]


def test_figure_has_every_position_and_label() -> None:
    points = read_points_csv(GRID_CSV)
    assert len(points) == 258
    figure = grid_figure(points, {"CN002E03": "ANT00001", "CC000E01": "ANT00017"})
    (positions,) = _by_gid(figure, "positions")
    assert len(positions.get_offsets()) == 258
    (assigned,) = _by_gid(figure, "assigned")
    assert len(assigned.get_offsets()) == 2
    labels = sorted(text.get_text() for text in _by_gid(figure, "antenna-label"))
    assert labels == ["1", "17"]
    rows = {text.get_text() for text in _by_gid(figure, "row-label")}
    assert len(rows) == 43 and {"N021", "C000", "S021"} <= rows
    columns = sorted(text.get_text() for text in _by_gid(figure, "column-label"))
    assert columns == ["E01", "E02", "E03", "E04", "E05", "E06"]
    mean_lat = sum(p.latitude for p in points) / len(points)
    assert figure.axes[0].get_aspect() == pytest.approx(1 / math.cos(math.radians(mean_lat)))


def test_no_points_is_a_clear_error() -> None:
    with pytest.raises(CasmanError, match="no grid positions"):
        grid_figure([], {})
    assert PlotPoint("CC000E01", 0, 1, 1.0, 2.0).east_col == 1


def test_cli_plot_from_database(casman: Casman, tmp_path: Path) -> None:
    casman.ok("database", "load-coordinates", "--csv", str(GRID_CSV))
    add_all_types(casman, 1, "1")
    casman.ok("antenna", "assign", "ANT00001", "CN002E03")
    result = casman.ok("antenna", "plot")
    path = Path(result.output.strip())
    assert path == Path("grid_positions.png")
    data = (tmp_path / path).read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000
    casman.fails("antenna", "plot")  # refuses to overwrite
    casman.ok("antenna", "plot", "--force")


def test_cli_plot_from_csv(casman: Casman, tmp_path: Path) -> None:
    out = tmp_path / "pictures" / "grid.png"
    out.parent.mkdir()
    result = casman.ok("antenna", "plot", "--csv", str(GRID_CSV), "--output", str(out))
    assert result.output.strip() == str(out)
    assert out.read_bytes().startswith(PNG_MAGIC) and out.stat().st_size > 20_000


def test_cli_plot_with_empty_database_fails_cleanly(casman: Casman) -> None:
    result = casman.fails("antenna", "plot")
    assert "load-coordinates" in result.stderr
    assert not Path("grid_positions.png").exists()


def test_antenna_show_does_not_import_matplotlib() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from casman.cli.antenna_cmd import antenna; "
        "import casman.cli.snap_cmd; "
        "print('matplotlib' in sys.modules, 'flask' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
