"""Antenna grid positions and the surveyed coordinates of every grid position.

Coordinates belong to positions (``grid_positions``); ``antenna_positions`` carries a copy
in the spec's columns for the antennas assigned there, refreshed on assign and on
``load-coordinates``.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from casman.db.changes import Change, announce
from casman.db.connection import write_transaction
from casman.db.csv_files import LoadReport, duplicates, read_rows
from casman.db.schema import PARTS_DB
from casman.domain.errors import DomainError
from casman.domain.grid import ArrayGeometry, GridPosition, check_in_geometry, parse_grid_code
from casman.domain.timestamps import now_iso
from casman.errors import CasmanError

COORDINATE_COLUMNS = ("grid_code", "latitude", "longitude", "height", "coordinate_system")


@dataclass(frozen=True)
class Coordinates:
    grid_code: str
    latitude: float | None
    longitude: float | None
    height: float | None
    coordinate_system: str | None
    notes: str | None = None


@dataclass(frozen=True)
class AntennaPosition:
    antenna_number: str
    grid_code: str
    array_id: str
    row_offset: int
    east_col: int
    assigned_at: str
    notes: str | None
    latitude: float | None
    longitude: float | None
    height: float | None
    coordinate_system: str | None


def _position(row: sqlite3.Row) -> AntennaPosition:
    return AntennaPosition(
        row["antenna_number"],
        row["grid_code"],
        row["array_id"],
        row["row_offset"],
        row["east_col"],
        row["assigned_at"],
        row["notes"],
        row["latitude"],
        row["longitude"],
        row["height"],
        row["coordinate_system"],
    )


def position_of_antenna(conn: sqlite3.Connection, antenna_number: str) -> AntennaPosition | None:
    row = conn.execute(
        "SELECT * FROM antenna_positions WHERE antenna_number = ?", (antenna_number,)
    ).fetchone()
    return _position(row) if row else None


def antenna_at(conn: sqlite3.Connection, grid_code: str) -> AntennaPosition | None:
    row = conn.execute(
        "SELECT * FROM antenna_positions WHERE grid_code = ?", (grid_code,)
    ).fetchone()
    return _position(row) if row else None


def all_positions(conn: sqlite3.Connection) -> list[AntennaPosition]:
    rows = conn.execute(
        "SELECT * FROM antenna_positions ORDER BY array_id, row_offset DESC, east_col"
    )
    return [_position(row) for row in rows]


def coordinates_of(conn: sqlite3.Connection, grid_code: str) -> Coordinates | None:
    row = conn.execute("SELECT * FROM grid_positions WHERE grid_code = ?", (grid_code,)).fetchone()
    return _coordinates(row) if row else None


def _coordinates(row: sqlite3.Row) -> Coordinates:
    return Coordinates(
        row["grid_code"],
        row["latitude"],
        row["longitude"],
        row["height"],
        row["coordinate_system"],
        row["notes"],
    )


def all_coordinates(conn: sqlite3.Connection) -> dict[str, Coordinates]:
    rows = conn.execute("SELECT * FROM grid_positions ORDER BY grid_code")
    return {row["grid_code"]: _coordinates(row) for row in rows}


def assign(
    conn: sqlite3.Connection,
    antenna_number: str,
    position: GridPosition,
    *,
    force: bool = False,
    notes: str | None = None,
    geometry: Mapping[str, ArrayGeometry] | None = None,
) -> AntennaPosition:
    """Place an antenna; one antenna per position and one position per antenna.

    ``force`` moves an antenna that is already placed elsewhere; it never evicts another
    antenna from the target position (remove that one first), so no assignment is lost
    silently.
    """
    check_in_geometry(position, geometry or {})
    grid_code = position.grid_code
    with write_transaction(conn, Change(PARTS_DB, "assign")):
        if not conn.execute(
            "SELECT 1 FROM parts WHERE part_number IN (?, ?)",
            (antenna_number + "P1", antenna_number + "P2"),
        ).fetchone():
            raise DomainError(
                f"antenna {antenna_number} does not exist; add it with "
                "`casman parts add ANTENNA 1 1`"
            )
        occupant = antenna_at(conn, grid_code)
        if occupant is not None and occupant.antenna_number != antenna_number:
            raise DomainError(
                f"{grid_code} already holds {occupant.antenna_number}; remove it first with "
                f"`casman antenna remove {occupant.antenna_number}`"
            )
        current = position_of_antenna(conn, antenna_number)
        if current is not None and current.grid_code == grid_code:
            raise DomainError(f"{antenna_number} is already at {grid_code}")
        if current is not None and not force:
            raise DomainError(
                f"{antenna_number} is already at {current.grid_code}; use --force to move it "
                f"to {grid_code}"
            )
        if current is not None:
            conn.execute(
                "DELETE FROM antenna_positions WHERE antenna_number = ?", (antenna_number,)
            )
        coordinates = coordinates_of(conn, grid_code)
        conn.execute(
            "INSERT INTO antenna_positions (antenna_number, array_id, row_offset, east_col,"
            " grid_code, assigned_at, notes, latitude, longitude, height, coordinate_system)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                antenna_number,
                position.array_id,
                position.row_offset,
                position.east_col,
                grid_code,
                now_iso(),
                notes,
                coordinates.latitude if coordinates else None,
                coordinates.longitude if coordinates else None,
                coordinates.height if coordinates else None,
                coordinates.coordinate_system if coordinates else None,
            ),
        )
        placed = position_of_antenna(conn, antenna_number)
    assert placed is not None
    return placed


def remove(conn: sqlite3.Connection, antenna_number: str) -> AntennaPosition:
    with write_transaction(conn, Change(PARTS_DB, "remove")):
        current = position_of_antenna(conn, antenna_number)
        if current is None:
            raise DomainError(f"{antenna_number} is not assigned to any grid position")
        conn.execute("DELETE FROM antenna_positions WHERE antenna_number = ?", (antenna_number,))
    return current


def _float(values: dict[str, str], name: str, low: float, high: float) -> float | None:
    text = values.get(name, "")
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        raise CasmanError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise CasmanError(f"{name} {text} is out of range {low}…{high}")
    return number


def _parse_coordinates(values: dict[str, str]) -> Coordinates:
    position = parse_grid_code(values["grid_code"])
    latitude = _float(values, "latitude", -90.0, 90.0)
    longitude = _float(values, "longitude", -180.0, 180.0)
    if latitude is None or longitude is None:
        raise CasmanError("latitude and longitude are required")
    return Coordinates(
        position.grid_code,
        latitude,
        longitude,
        _float(values, "height", -11_000.0, 9_000.0),
        values.get("coordinate_system") or None,
        values.get("notes") or None,
    )


def load_coordinates(
    conn: sqlite3.Connection, path: Path, geometry: Mapping[str, ArrayGeometry] | None = None
) -> LoadReport:
    """Store every row of grid_positions.csv and refresh assigned antennas' coordinates."""

    def checks(rows: list[tuple[int, Coordinates]]) -> list[str]:
        problems = duplicates(rows, lambda c: c.grid_code, "grid code")
        for line_number, coordinates in rows:
            try:
                check_in_geometry(parse_grid_code(coordinates.grid_code), geometry or {})
            except DomainError as error:
                problems.append(f"line {line_number}: {error}")
        return problems

    rows = read_rows(path, COORDINATE_COLUMNS, _parse_coordinates, checks)
    loaded = updated = unchanged = 0
    with write_transaction(conn):
        existing = all_coordinates(conn)
        for _, new in rows:
            old = existing.get(new.grid_code)
            if old == new:
                unchanged += 1
                continue
            conn.execute(
                "INSERT OR REPLACE INTO grid_positions (grid_code, latitude, longitude, height,"
                " coordinate_system, notes) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    new.grid_code,
                    new.latitude,
                    new.longitude,
                    new.height,
                    new.coordinate_system,
                    new.notes,
                ),
            )
            if old is None:
                loaded += 1
            else:
                updated += 1
        conn.execute(
            "UPDATE antenna_positions SET (latitude, longitude, height, coordinate_system) = ("
            " SELECT latitude, longitude, height, coordinate_system FROM grid_positions g"
            " WHERE g.grid_code = antenna_positions.grid_code)"
            " WHERE grid_code IN (SELECT grid_code FROM grid_positions)"
        )
    if loaded + updated:
        announce(conn, Change(PARTS_DB, "load-coordinates", loaded + updated))
    return LoadReport(loaded, updated, unchanged)
