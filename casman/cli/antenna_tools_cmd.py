"""``casman antenna plot`` and ``casman antenna generate-coordinates``.

Kept apart from ``antenna_cmd`` so matplotlib is imported only when a picture is drawn:
``casman antenna show`` stays as fast as the rest of the everyday CLI.
"""

from __future__ import annotations

import io
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click

from casman.errors import CasmanError
from casman.userfiles import output_target, write_output

DEFAULT_PLOT = "grid_positions.png"


@dataclass(frozen=True)
class PlotPoint:
    grid_code: str
    row_offset: int
    east_col: int
    latitude: float
    longitude: float


def _points_from_rows(rows: Sequence[tuple[str, float | None, float | None]]) -> list[PlotPoint]:
    from casman.domain.grid import parse_grid_code

    points = []
    for grid_code, latitude, longitude in rows:
        if latitude is None or longitude is None:
            continue
        position = parse_grid_code(grid_code)
        points.append(
            PlotPoint(
                position.grid_code, position.row_offset, position.east_col, latitude, longitude
            )
        )
    return points


def read_points_csv(path: Path) -> list[PlotPoint]:
    """Positions from a grid_positions.csv, validated by casman's own CSV reader."""
    from casman.db.csv_files import read_rows
    from casman.db.positions import COORDINATE_COLUMNS

    def parse(values: dict[str, str]) -> tuple[str, float, float]:
        try:
            return values["grid_code"], float(values["latitude"]), float(values["longitude"])
        except ValueError:
            raise CasmanError("latitude and longitude must be numbers") from None

    rows = read_rows(path, COORDINATE_COLUMNS, parse)
    return _points_from_rows([row for _, row in rows])


def _row_label(row_offset: int) -> str:
    direction = "N" if row_offset > 0 else "S" if row_offset < 0 else "C"
    return f"{direction}{abs(row_offset):03d}"


def _antenna_label(antenna_number: str) -> str:
    digits = antenna_number[3:]
    return str(int(digits)) if digits.isdigit() else antenna_number


def grid_figure(points: Sequence[PlotPoint], assigned: Mapping[str, str]) -> Any:
    """The grid as a matplotlib Figure (returned so tests can count what was drawn).

    Every position is one dot of the scatter with gid ``positions``; assigned ones are
    overdrawn (gid ``assigned``) and labelled with the antenna's number. The aspect is
    1/cos(mean latitude) so a metre east and a metre north are the same length on paper.
    """
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise CasmanError(
            "casman antenna plot needs matplotlib: pip install 'casman[plot]'"
        ) from None

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    if not points:
        raise CasmanError(
            "no grid positions to plot; load them with `casman database load-coordinates`"
        )
    figure = Figure(figsize=(7, 12), dpi=110)
    axes = figure.add_subplot(1, 1, 1)
    lons = [p.longitude for p in points]
    lats = [p.latitude for p in points]
    axes.scatter(lons, lats, s=14, c="#9aa5b1", gid="positions", label="grid position")
    taken = [p for p in points if p.grid_code in assigned]
    if taken:
        axes.scatter(
            [p.longitude for p in taken],
            [p.latitude for p in taken],
            s=30,
            c="#d9480f",
            gid="assigned",
            label="assigned antenna",
        )
        for point in taken:
            axes.annotate(
                _antenna_label(assigned[point.grid_code]),
                (point.longitude, point.latitude),
                xytext=(4, 2),
                textcoords="offset points",
                fontsize=6,
                color="#d9480f",
                gid="antenna-label",
            )
    span_lon = (max(lons) - min(lons)) or 1e-5
    span_lat = (max(lats) - min(lats)) or 1e-5
    rows: dict[int, list[float]] = {}
    columns: dict[int, list[float]] = {}
    for point in points:
        rows.setdefault(point.row_offset, []).append(point.latitude)
        columns.setdefault(point.east_col, []).append(point.longitude)
    # Labels sit by the medians, so one surveyed outlier cannot drag a whole row's label.
    column_medians = [statistics.median(values) for values in columns.values()]
    core_span = (max(column_medians) - min(column_medians)) or span_lon
    left = min(column_medians) - 0.25 * core_span
    top = max(lats) + 0.015 * span_lat
    for row, row_lats in rows.items():
        axes.text(
            left,
            statistics.median(row_lats),
            _row_label(row),
            fontsize=5,
            ha="right",
            va="center",
            gid="row-label",
        )
    for column, column_lons in columns.items():
        axes.text(
            statistics.median(column_lons),
            top,
            f"E{column:02d}",
            fontsize=6,
            ha="center",
            va="bottom",
            rotation=90,
            gid="column-label",
        )
    mean_lat = sum(lats) / len(lats)
    axes.set_aspect(1.0 / math.cos(math.radians(mean_lat)))
    axes.set_xlim(min(min(lons), left) - 0.3 * core_span, max(lons) + 0.15 * core_span)
    axes.set_ylim(min(lats) - 0.02 * span_lat, top + 0.06 * span_lat)
    axes.set_xlabel("longitude (°)")
    axes.set_ylabel("latitude (°)")
    axes.ticklabel_format(useOffset=False, style="plain")
    axes.xaxis.set_major_locator(MaxNLocator(nbins=2))
    axes.tick_params(labelsize=6)
    axes.tick_params(axis="x", labelrotation=30)
    axes.set_title(f"CASM grid positions ({len(points)}, {len(taken)} assigned)", fontsize=9)
    figure.legend(loc="lower center", ncols=2, fontsize=6, frameon=False)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    return figure


def figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _database_points(conn: Any) -> list[PlotPoint]:
    from casman.db.positions import all_coordinates

    return _points_from_rows(
        [(c.grid_code, c.latitude, c.longitude) for c in all_coordinates(conn).values()]
    )


@click.command("plot", short_help="Draw the grid with the assigned antennas marked.")
@click.option(
    "--output",
    "output",
    default=DEFAULT_PLOT,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="PNG file to write.",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False),
    help="Plot this grid_positions.csv instead of the database's grid positions.",
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def plot(output: str, csv_path: str | None, force: bool) -> None:
    """Draw the grid positions (longitude/latitude) with assigned antennas marked."""
    from casman.cli.common import get_config
    from casman.db.connection import DatabaseFileError, open_databases
    from casman.db.positions import all_positions

    points: list[PlotPoint] | None = read_points_csv(Path(csv_path)) if csv_path else None
    path = Path(output)
    output_target(path, force=force)  # refuse a special file or clobbering before drawing
    assigned: dict[str, str] = {}
    try:
        conn = open_databases(get_config().database_dir, create=csv_path is None)
    except DatabaseFileError:
        if csv_path is None:
            raise
    else:
        try:
            if points is None:
                points = _database_points(conn)
            assigned = {p.grid_code: p.antenna_number for p in all_positions(conn)}
        finally:
            conn.close()
    assert points is not None
    write_output(path, figure_png(grid_figure(points, assigned)), force=force)
    click.echo(str(path))


@click.command(
    "generate-coordinates", short_help="Write grid_positions.csv from one surveyed point."
)
@click.option("--reference-lat", type=float, required=True, help="Surveyed latitude (°).")
@click.option("--reference-lon", type=float, required=True, help="Surveyed longitude (°).")
@click.option("--reference-height", type=float, required=True, help="Surveyed height (m).")
@click.option(
    "--reference-code",
    default="CC000E01",
    show_default=True,
    help="Grid position that was surveyed.",
)
@click.option("--north-rows", type=click.IntRange(0, 999), default=21, show_default=True)
@click.option("--south-rows", type=click.IntRange(0, 999), default=21, show_default=True)
@click.option("--columns", default="1-6", show_default=True, help="East columns, first-last.")
@click.option(
    "--row-spacing-m",
    default="0.50088",
    show_default=True,
    help="North-south distance between rows (m).",
)
@click.option(
    "--col-spacing-m",
    default="0.38,0.445",
    show_default=True,
    help="East-west gap(s) between columns (m); several values repeat in turn.",
)
@click.option("--coordinate-system", default="WGS84", show_default=True)
@click.option("--notes", help="Notes column (default: 'Generated from CODE reference on DATE').")
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="CSV file to write (default: grid_positions.csv in the database directory, where "
    "`casman database load-coordinates` reads it).",
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def generate_coordinates(
    reference_lat: float,
    reference_lon: float,
    reference_height: float,
    reference_code: str,
    north_rows: int,
    south_rows: int,
    columns: str,
    row_spacing_m: str,
    col_spacing_m: str,
    coordinate_system: str,
    notes: str | None,
    output: str | None,
    force: bool,
) -> None:
    """Write a grid_positions.csv computed from one surveyed reference position."""
    from casman.domain.grid import parse_grid_code
    from casman.generate import (
        GridLayout,
        generate_grid,
        grid_csv_text,
        parse_columns,
        parse_spacings,
    )

    first, last = parse_columns(columns)
    row_spacing = parse_spacings(row_spacing_m)
    if len(row_spacing) != 1:
        raise CasmanError("--row-spacing-m takes one number of metres")
    layout = GridLayout(
        north_rows, south_rows, first, last, row_spacing[0], parse_spacings(col_spacing_m)
    )
    code = parse_grid_code(reference_code).grid_code
    text_notes = (
        notes
        if notes is not None
        else (f"Generated from {code} reference on {date.today().isoformat()}")
    )
    rows = generate_grid(
        reference_lat,
        reference_lon,
        reference_height,
        reference_code=code,
        layout=layout,
        notes=text_notes,
        coordinate_system=coordinate_system,
    )
    from casman.cli.common import get_config
    from casman.generate import GRID_POSITIONS_CSV, default_csv, load_hint

    default = default_csv(get_config().database_dir, GRID_POSITIONS_CSV)
    path = Path(output) if output else default
    if not output:
        path.parent.mkdir(parents=True, exist_ok=True)
    write_output(path, grid_csv_text(rows), force=force)
    hint = load_hint(path, default, "load-coordinates")
    click.echo(f"Wrote {len(rows)} grid positions to {path.resolve()}; load them with {hint}")
