"""The JSON documents casman shows: one shape per concept, whoever asks.

``casman antenna show --json``, ``/api/antenna/<id>`` and the grid page's panel are one
document, built here; so are a chain (``assembly chain --json``, each chain of
``/api/chains``), a board (``snap show --json``, ``/api/board/<name>``), a board's
configuration (``snap list --json``, a chain's ``board``, a board's ``config``) and an
antenna's position (``antenna list --json``, an antenna's ``position``). Before, the CLI
added the kernel index to an antenna after the shared lookup and the web did not, so the
same question had two answers; building every document in one module makes a second
shape impossible to add by accident. The Python API's packet map has its own stable
columns (:data:`casman.array.PACKET_MAP_COLUMNS`), shared by ``antenna export``.

Only plain data goes out: str, int, float, bool, None, lists and dicts. Nothing here
prints, and nothing imports click or Flask.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from casman.db.assembly import AssemblyEvent
from casman.db.chains import Chain
from casman.db.lookups import antenna_report, board_info, board_report, chain_info, position_info
from casman.db.parts import PartRecord
from casman.db.positions import AntennaPosition
from casman.domain.connections import parse_part
from casman.domain.errors import DomainError
from casman.domain.kernel import KernelIndex
from casman.domain.snap import SnapBoard, SnapBoardId

__all__ = [
    "antenna_document",
    "board_config_document",
    "board_document",
    "chain_document",
    "event_document",
    "part_document",
    "position_document",
    "table_rows",
]


def _polarization(chain: Chain) -> str | None:
    if chain.antenna:
        return chain.antenna[-2:]
    try:
        return parse_part(chain.parts[0]).polarization
    except DomainError:
        return None


def chain_document(chain: Chain) -> dict[str, Any]:
    """A chain: its parts, where it ends, the board's configuration and packet index."""
    return {**chain_info(chain), "polarization": _polarization(chain)}


def _kernel_fields(
    kernel: KernelIndex, antenna: str | None, grid_code: str | None
) -> dict[str, Any]:
    """The kernel index of a position, or None and the one-line reason."""
    if grid_code is None:
        return {
            "kernel_index": None,
            "kernel_index_note": f"{antenna} is not assigned to a grid position",
        }
    return {
        "kernel_index": kernel.index_of(grid_code),
        "kernel_index_note": kernel.unmapped(grid_code),
    }


def antenna_document(conn: sqlite3.Connection, query: str, kernel: KernelIndex) -> dict[str, Any]:
    """An antenna (by number) or a grid position (by code): where it is, its kernel index,
    coordinates, and each polarization's chain to a SNAP port."""
    report = antenna_report(conn, query)
    signals = {
        polarization: {**info, "polarization": polarization}
        for polarization, info in report["signals"].items()
    }
    return {
        "antenna_number": report["antenna_number"],
        "grid_code": report["grid_code"],
        **_kernel_fields(kernel, report["antenna_number"], report["grid_code"]),
        "position": report["position"],
        "coordinates": report["coordinates"],
        "signals": signals,
    }


def position_document(position: AntennaPosition, kernel: KernelIndex) -> dict[str, Any]:
    """An antenna's grid position with its coordinates and kernel index."""
    info = position_info(position) or {}
    return {**info, **_kernel_fields(kernel, position.antenna_number, position.grid_code)}


def board_document(conn: sqlite3.Connection, board_id: SnapBoardId) -> dict[str, Any]:
    """A SNAP board: its configuration (None if not loaded) and what reaches each port."""
    return board_report(conn, board_id)


def board_config_document(board: SnapBoard) -> dict[str, Any]:
    """A loaded board's configuration: serial, MAC, IP, feng id."""
    info = board_info(board)
    assert info is not None
    return info


def part_document(record: PartRecord) -> dict[str, Any]:
    """A numbered part as ``parts list`` shows it."""
    return asdict(record)


def event_document(event: AssemblyEvent) -> dict[str, Any]:
    """One connect or disconnect, as recorded."""
    return asdict(event)


def table_rows(conn: sqlite3.Connection, schema: str, table: str) -> Iterator[dict[str, Any]]:
    """The rows of one of casman's own tables, column name to value (BLOBs as hex)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(f"SELECT * FROM {schema}.{table}")  # casman's own table names only
    names = [column[0] for column in cursor.description]
    for row in cursor:
        yield {
            name: value.hex() if isinstance(value, bytes) else value
            for name, value in zip(names, row, strict=True)
        }
