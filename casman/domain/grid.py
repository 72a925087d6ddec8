"""Grid codes: ``{array}{direction}{row:03d}E{col:02d}``, e.g. ``CN002E03``.

Direction is N for rows north of the centre (row_offset > 0), S for south (< 0) and C
for the centre row 000 only, so every position has exactly one spelling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from casman.domain.errors import DomainError, InvalidGridCodeError

ARRAY_IDS = ("C", "N", "S")
MAX_ROW = 999
MAX_COLUMN = 99
_GRID_CODE = re.compile(r"^([A-Z])([A-Z])(\d{3})E(\d{2})$")


@dataclass(frozen=True, order=True)
class GridPosition:
    array_id: str
    row_offset: int
    east_col: int

    def __post_init__(self) -> None:
        if self.array_id not in ARRAY_IDS:
            raise InvalidGridCodeError(f"array {self.array_id!r} is not C, N or S")
        if not -MAX_ROW <= self.row_offset <= MAX_ROW:
            raise InvalidGridCodeError(f"row offset {self.row_offset} is out of range ±999")
        if not 0 <= self.east_col <= MAX_COLUMN:
            raise InvalidGridCodeError(f"east column {self.east_col} is out of range 00–99")

    @property
    def direction(self) -> str:
        if self.row_offset > 0:
            return "N"
        if self.row_offset < 0:
            return "S"
        return "C"

    @property
    def grid_code(self) -> str:
        return f"{self.array_id}{self.direction}{abs(self.row_offset):03d}E{self.east_col:02d}"


def parse_grid_code(text: str) -> GridPosition:
    """Parse a grid code (trimmed, upper-cased) into its canonical position."""
    cleaned = text.strip().upper()
    match = _GRID_CODE.match(cleaned)
    if match is None:
        raise InvalidGridCodeError(
            f"{text.strip()!r} is not a grid code; expected e.g. CN002E03 "
            "(array C/N/S, direction N/S/C, 3-digit row, E, 2-digit column)"
        )
    array_id, direction, row_text, col_text = match.groups()
    if array_id not in ARRAY_IDS:
        raise InvalidGridCodeError(f"{cleaned!r}: array {array_id!r} is not C, N or S")
    row = int(row_text)
    if direction == "C":
        if row != 0:
            raise InvalidGridCodeError(f"{cleaned!r}: direction C is only for row 000")
        offset = 0
    elif direction in ("N", "S"):
        if row == 0:
            raise InvalidGridCodeError(
                f"{cleaned!r}: row 000 is the centre row; write it as {array_id}C000E{col_text}"
            )
        offset = row if direction == "N" else -row
    else:
        raise InvalidGridCodeError(f"{cleaned!r}: direction {direction!r} is not N, S or C")
    return GridPosition(array_id, offset, int(col_text))


@dataclass(frozen=True)
class ArrayGeometry:
    """How many rows north and south and which east columns an array has (configuration)."""

    north_rows: int
    south_rows: int
    first_column: int
    last_column: int

    def contains(self, position: GridPosition) -> bool:
        return (
            -self.south_rows <= position.row_offset <= self.north_rows
            and self.first_column <= position.east_col <= self.last_column
        )

    def positions(self, array_id: str) -> list[GridPosition]:
        """Every position, north row first then west to east (the display order)."""
        return [
            GridPosition(array_id, row, col)
            for row in range(self.north_rows, -self.south_rows - 1, -1)
            for col in range(self.first_column, self.last_column + 1)
        ]


def geometry_from_config(section: Mapping[str, Any]) -> dict[str, ArrayGeometry]:
    """Read ``grid: {arrays: {C: {north_rows: 21, south_rows: 21, columns: [1, 6]}}}``."""
    arrays = section.get("arrays") or {}
    if not isinstance(arrays, Mapping):
        raise InvalidGridCodeError("config grid.arrays must be a mapping of array id to geometry")
    geometry: dict[str, ArrayGeometry] = {}
    for array_id, spec in arrays.items():
        key = str(array_id).upper()
        if key not in ARRAY_IDS or not isinstance(spec, Mapping):
            raise InvalidGridCodeError(f"config grid.arrays.{array_id} is not a valid array")
        try:
            first, last = (int(value) for value in spec.get("columns", [0, MAX_COLUMN]))
            geometry[key] = ArrayGeometry(
                int(spec.get("north_rows", 0)), int(spec.get("south_rows", 0)), first, last
            )
        except (TypeError, ValueError):
            raise InvalidGridCodeError(
                f"config grid.arrays.{array_id} needs north_rows, south_rows and "
                "columns: [first, last]"
            ) from None
    return geometry


def check_in_geometry(position: GridPosition, geometry: Mapping[str, ArrayGeometry]) -> None:
    """A configured array refuses codes outside it; an unconfigured array accepts any."""
    shape = geometry.get(position.array_id)
    if shape is not None and not shape.contains(position):
        raise InvalidGridCodeError(
            f"{position.grid_code} is outside array {position.array_id} "
            f"(rows S{shape.south_rows:03d}–N{shape.north_rows:03d}, "
            f"columns E{shape.first_column:02d}–E{shape.last_column:02d})"
        )


def normalise_antenna_number(text: str) -> str:
    """``ant00001p1`` and ``ANT00001`` both mean antenna ``ANT00001``."""
    from casman.domain.parts import PartType, parse_numbered_part

    cleaned = text.strip().upper()
    candidate = cleaned if re.search(r"P[12]$", cleaned) else cleaned + "P1"
    try:
        part = parse_numbered_part(candidate)
    except DomainError:
        part = None
    if part is None or part.part_type is not PartType.ANTENNA:
        raise InvalidGridCodeError(
            f"{text.strip()!r} is not an antenna number; expected e.g. ANT00001 or ANT00001P1"
        )
    return part.base_number
