"""Generating the deployment CSVs: grid coordinates from a survey point, placeholder SNAP boards.

Pure functions (no click, no files) so the arithmetic is unit-testable; the commands in
``casman/cli/antenna_tools_cmd.py`` and ``casman/cli/snap_tools_cmd.py`` only parse options
and write the text these functions return.

Coordinates use a local flat-earth approximation: over a few metres of array the earth is a
plane, so a northward offset of ``n`` metres is ``n / R`` radians of latitude and an eastward
offset ``e`` is ``e / (R cos φ0)`` radians of longitude, with ``φ0`` the reference latitude
(every column keeps one longitude whatever its row, as in the surveyed file). The defaults
were read off ``examples/data/grid_positions.csv``: its rows are 4.4995e-6° apart and its
columns E01…E06 sit 0, 0.38, 0.825, 1.205, 1.65 and 2.03 m east of E01 (pairs of antennas,
alternating 0.38 m and 0.445 m gaps), which on a sphere of the WGS84 equatorial radius is a
row spacing of 0.50088 m. With these defaults, generating from the file's CC000E01 reference
reproduces every generated row of the file to within a nanodegree.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from casman.domain.grid import GridPosition, parse_grid_code
from casman.domain.snap import CHASSIS_RANGE, SLOT_LETTERS
from casman.errors import UsageError

SNAP_BOARDS_CSV = "snap_boards.csv"
GRID_POSITIONS_CSV = "grid_positions.csv"
EARTH_RADIUS_M = 6_378_137.0
DEFAULT_ROW_SPACING_M = 0.50088
DEFAULT_COLUMN_GAPS_M: tuple[float, ...] = (0.38, 0.445)
DEFAULT_REFERENCE_CODE = "CC000E01"
DEFAULT_COLUMNS = "1-6"
GRID_CSV_COLUMNS = ("grid_code", "latitude", "longitude", "height", "coordinate_system", "notes")
SNAP_CSV_COLUMNS = ("chassis", "slot", "sn", "mac", "ip", "feng_id", "notes")
SLOTS_PER_CHASSIS = len(SLOT_LETTERS)
_COLUMN_RANGE = re.compile(r"^\s*(\d{1,2})\s*(?:-\s*(\d{1,2}))?\s*$")


@dataclass(frozen=True)
class GridRow:
    """One line of grid_positions.csv."""

    grid_code: str
    latitude: float
    longitude: float
    height: float
    coordinate_system: str
    notes: str


@dataclass(frozen=True)
class GridLayout:
    """Which rows and columns to generate, and how far apart they are."""

    north_rows: int = 21
    south_rows: int = 21
    first_column: int = 1
    last_column: int = 6
    row_spacing_m: float = DEFAULT_ROW_SPACING_M
    column_gaps_m: tuple[float, ...] = DEFAULT_COLUMN_GAPS_M

    def __post_init__(self) -> None:
        if not 0 <= self.north_rows <= 999 or not 0 <= self.south_rows <= 999:
            raise UsageError("north and south rows must be between 0 and 999")
        if not 0 <= self.first_column <= self.last_column <= 99:
            raise UsageError("columns must be a range within 0–99, e.g. 1-6")
        if not math.isfinite(self.row_spacing_m) or self.row_spacing_m <= 0:
            raise UsageError("row spacing must be a positive number of metres")
        if not self.column_gaps_m or any(
            not math.isfinite(gap) or gap <= 0 for gap in self.column_gaps_m
        ):
            raise UsageError("column spacing must be positive numbers of metres")

    def column_offset_m(self, column: int) -> float:
        """Metres east of the first column; the gaps repeat cyclically (0.38, 0.445, 0.38 …)."""
        gaps = self.column_gaps_m
        return sum(gaps[i % len(gaps)] for i in range(column - self.first_column))

    def positions(self) -> list[GridPosition]:
        """South row first, west to east: the order of the surveyed file."""
        return [
            GridPosition("C", row, column)
            for row in range(-self.south_rows, self.north_rows + 1)
            for column in range(self.first_column, self.last_column + 1)
        ]


def default_csv(database_dir: Path, name: str) -> Path:
    """Where a generator writes ``name`` and its loader reads it when no path is given.

    The database directory, for both: ``casman snap generate-csv`` followed by ``casman
    database load-snap-boards`` needs no option (the original CAsMan kept both CSVs in its
    ``database/`` folder too). Generating into the current directory while loading from the
    database directory made the second command fail on the first one's file.
    """
    return database_dir / name


def load_hint(path: Path, default: Path, command: str) -> str:
    """The loading command for a file just written (``--csv`` only when it is needed)."""
    if path.resolve() == default.resolve():
        return f"`casman database {command}`"
    return f"`casman database {command} --csv {path}`"


def parse_columns(text: str) -> tuple[int, int]:
    """``1-6`` → (1, 6); a single ``3`` is the one column 3."""
    match = _COLUMN_RANGE.match(text)
    if match is None:
        raise UsageError(f"columns {text!r} is not a range like 1-6")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if first > last or last > 99:
        raise UsageError(f"columns {text!r}: expected first-last with first ≤ last ≤ 99")
    return first, last


def parse_spacings(text: str) -> tuple[float, ...]:
    """``0.5`` or ``0.38,0.445`` (gaps repeated cyclically across the columns)."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"spacing {text!r} is not a number or comma-separated numbers") from None
    if not values or any(not math.isfinite(v) or v <= 0 for v in values):
        raise UsageError(f"spacing {text!r} must be positive metres")
    return values


def offset_to_degrees(
    north_m: float, east_m: float, reference_latitude: float
) -> tuple[float, float]:
    """(Δlatitude, Δlongitude) in degrees for a small offset in metres (flat earth)."""
    cos_lat = math.cos(math.radians(reference_latitude))
    if cos_lat < 1e-9:
        raise UsageError("the reference latitude is at a pole; longitude offsets are undefined")
    d_lat = math.degrees(north_m / EARTH_RADIUS_M)
    d_lon = math.degrees(east_m / (EARTH_RADIUS_M * cos_lat))
    return d_lat, d_lon


def generate_grid(
    reference_lat: float,
    reference_lon: float,
    reference_height: float,
    *,
    reference_code: str = DEFAULT_REFERENCE_CODE,
    layout: GridLayout | None = None,
    notes: str = "",
    coordinate_system: str = "WGS84",
) -> list[GridRow]:
    """Coordinates of every position of ``layout``, placed relative to a surveyed position."""
    shape = layout or GridLayout()
    if not -90.0 <= reference_lat <= 90.0 or not -180.0 <= reference_lon <= 180.0:
        raise UsageError("reference latitude must be within ±90 and longitude within ±180")
    reference = parse_grid_code(reference_code)
    if reference.array_id != "C" or not (
        shape.first_column <= reference.east_col <= shape.last_column
    ):
        raise UsageError(
            f"reference {reference.grid_code} must be a core (C) position within columns "
            f"E{shape.first_column:02d}–E{shape.last_column:02d}"
        )
    reference_east = shape.column_offset_m(reference.east_col)
    rows = []
    for position in shape.positions():
        north = (position.row_offset - reference.row_offset) * shape.row_spacing_m
        east = shape.column_offset_m(position.east_col) - reference_east
        d_lat, d_lon = offset_to_degrees(north, east, reference_lat)
        rows.append(
            GridRow(
                position.grid_code,
                reference_lat + d_lat,
                reference_lon + d_lon,
                reference_height,
                coordinate_system,
                notes,
            )
        )
    return rows


def _height_text(height: float) -> str:
    text = f"{height:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def grid_csv_text(rows: Sequence[GridRow]) -> str:
    """grid_positions.csv exactly as the surveyed file is written: 9 decimals for degrees."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(GRID_CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.grid_code,
                f"{row.latitude:.9f}",
                f"{row.longitude:.9f}",
                _height_text(row.height),
                row.coordinate_system,
                row.notes,
            )
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class BoardRow:
    """One line of snap_boards.csv."""

    chassis: int
    slot: str
    serial_number: str
    mac_address: str
    ip_address: str
    feng_id: int
    notes: str


def generate_snap_boards(chassis_count: int = 4, notes: str = "") -> list[BoardRow]:
    """Placeholder boards for chassis 1…N, 11 slots each, feng ids 0, 1, 2 … in slot order.

    Serials, MACs and IPs follow the spec's example (``SN01``, ``00:11:22:33:01:00``,
    ``192.168.1.1``) so they are unique and obviously not real hardware.
    """
    if chassis_count not in CHASSIS_RANGE:
        raise UsageError(f"chassis count {chassis_count} is out of range 1–4")
    boards = []
    for chassis in range(1, chassis_count + 1):
        for index, slot in enumerate(SLOT_LETTERS):
            feng_id = (chassis - 1) * SLOTS_PER_CHASSIS + index
            boards.append(
                BoardRow(
                    chassis,
                    slot,
                    f"SN{feng_id + 1:02d}",
                    f"00:11:22:33:{chassis:02x}:{index:02x}",
                    f"192.168.1.{feng_id + 1}",
                    feng_id,
                    notes,
                )
            )
    return boards


def snap_csv_text(boards: Sequence[BoardRow]) -> str:
    """snap_boards.csv in the column order of the deployed file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SNAP_CSV_COLUMNS)
    for board in boards:
        writer.writerow(
            (
                board.chassis,
                board.slot,
                board.serial_number,
                board.mac_address,
                board.ip_address,
                board.feng_id,
                board.notes,
            )
        )
    return buffer.getvalue()
