"""The door's rules for rows that arrive in records from outside (a store, another site).

A record is checked against the spec's schema (types, NOT NULL, the CHECK ranges) and, for
records written by casman itself, against the domain's formats (part numbers, grid codes,
SNAP slots), so a row that would break ``antenna list`` everywhere never reaches a table.
Genesis records (rows adopted from older databases) are held to the schema only: the
adoption kept some of their values verbatim on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from casman.domain.connections import parse_part
from casman.domain.errors import DomainError
from casman.domain.grid import parse_grid_code

Value = str | int | float | None
Check = Callable[[Value], bool]


def _text(value: Value) -> bool:
    return isinstance(value, str) and value != ""


def _optional_text(value: Value) -> bool:
    return value is None or isinstance(value, str)


def _number(value: Value) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _int_between(low: int, high: int) -> Check:
    def check(value: Value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    return check


def _one_of(*allowed: Value) -> Check:
    return lambda value: value in allowed


SCHEMA: dict[str, dict[str, Check]] = {
    "parts": {
        "part_number": _text,
        "part_type": _optional_text,
        "polarization": _optional_text,
        "date_created": _optional_text,
        "date_modified": _optional_text,
    },
    "assembly": {
        "part_number": _text,
        "part_type": _optional_text,
        "polarization": _optional_text,
        "scan_time": _optional_text,
        "connected_to": _text,
        "connected_to_type": _optional_text,
        "connected_polarization": _optional_text,
        "connected_scan_time": _optional_text,
        "connection_status": _one_of("connected", "disconnected"),
    },
    "antenna_positions": {
        "antenna_number": _text,
        "array_id": _text,
        "row_offset": _int_between(-999, 999),
        "east_col": _int_between(0, 99),
        "grid_code": _text,
        "assigned_at": _text,
        "notes": _optional_text,
        "latitude": _number,
        "longitude": _number,
        "height": _number,
        "coordinate_system": _optional_text,
    },
    "snap_boards": {
        "chassis": _int_between(1, 4),
        "slot": _one_of(*"ABCDEFGHIJK"),
        "serial_number": _text,
        "mac_address": _text,
        "ip_address": _text,
        "feng_id": _int_between(0, 43),
        "notes": _optional_text,
        "date_added": _text,
        "date_modified": _optional_text,
    },
    "grid_positions": {
        "grid_code": _text,
        "latitude": _number,
        "longitude": _number,
        "height": _number,
        "coordinate_system": _optional_text,
        "notes": _optional_text,
    },
}
_ANTENNA = re.compile(r"^ANT\d{5}$")


def _domain_problem(table: str, row: Mapping[str, Value]) -> str | None:
    try:
        if table in ("parts", "assembly"):
            parse_part(str(row["part_number"]))
        if table == "assembly":
            parse_part(str(row["connected_to"]))
        canonical = table in ("antenna_positions", "grid_positions")
        if canonical and parse_grid_code(str(row["grid_code"])).grid_code != row["grid_code"]:
            return f"grid code {row['grid_code']!r} is not in canonical form"
        if table == "antenna_positions" and not _ANTENNA.match(str(row["antenna_number"])):
            return f"antenna number {row['antenna_number']!r} is not ANTnnnnn"
    except DomainError as error:
        return str(error)
    return None


def row_problem(table: str, row: Mapping[str, Value], *, adopted: bool) -> str | None:
    """What is wrong with ``row`` for ``table`` (None: nothing)."""
    for column, check in SCHEMA[table].items():
        if not check(row.get(column)):
            return f"{table}.{column} = {row.get(column)!r} is not allowed"
    return None if adopted else _domain_problem(table, row)
