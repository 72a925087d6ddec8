"""Answers to the questions people ask, as plain dicts shared by the CLI and the web views.

Where is antenna X, which SNAP port and packet index do its P1 and P2 signals reach, what
does board SNAP1A carry: each answer is built here once so every interface says the same.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from casman.db.assembly import LinkReader
from casman.db.chains import Chain, build_chain, chain_through, read_snapshot, walk_many
from casman.db.positions import (
    AntennaPosition,
    antenna_at,
    coordinates_of,
    position_of_antenna,
)
from casman.db.snap_boards import get_board
from casman.domain.errors import DomainError
from casman.domain.grid import normalise_antenna_number, parse_grid_code
from casman.domain.parts import POLARIZATIONS
from casman.domain.snap import PORTS_PER_BOARD, SnapBoard, SnapBoardId, SnapPort

_GRID_LIKE = re.compile(r"^[A-Z][A-Z]\d{3}E\d{2}$")


def board_info(board: SnapBoard | None) -> dict[str, Any] | None:
    if board is None:
        return None
    return {
        "board": board.board.name,
        "chassis": board.board.chassis,
        "slot": board.board.slot,
        "serial_number": board.serial_number,
        "mac_address": board.mac_address,
        "ip_address": board.ip_address,
        "feng_id": board.feng_id,
        "notes": board.notes,
    }


def chain_info(chain: Chain) -> dict[str, Any]:
    port = chain.snap_port
    return {
        "parts": list(chain.parts),
        "antenna": chain.antenna,
        "complete": chain.complete,
        "snap_port": port.part_number if port else None,
        "snap_port_name": port.field_name if port else None,
        "port": port.port if port else None,
        "board": board_info(chain.board),
        "packet_index": chain.packet_index,
        "problems": chain.problems,
    }


def position_info(position: AntennaPosition | None) -> dict[str, Any] | None:
    if position is None:
        return None
    return {
        "antenna_number": position.antenna_number,
        "grid_code": position.grid_code,
        "array_id": position.array_id,
        "row_offset": position.row_offset,
        "east_col": position.east_col,
        "assigned_at": position.assigned_at,
        "latitude": position.latitude,
        "longitude": position.longitude,
        "height": position.height,
        "coordinate_system": position.coordinate_system,
        "notes": position.notes,
    }


def antenna_report(conn: sqlite3.Connection, query: str) -> dict[str, Any]:
    """Antenna number (``ANT00001``/``ANT00001P1``) or grid code → position and signals."""
    with read_snapshot(conn):
        return _antenna_report(conn, query.strip().upper())


def _antenna_report(conn: sqlite3.Connection, cleaned: str) -> dict[str, Any]:
    grid_code: str | None
    antenna: str | None
    if _GRID_LIKE.match(cleaned):
        grid_code = parse_grid_code(cleaned).grid_code
        position = antenna_at(conn, grid_code)
        antenna = position.antenna_number if position else None
        coordinates = coordinates_of(conn, grid_code)
    else:
        antenna = normalise_antenna_number(cleaned)
        exists = conn.execute(
            "SELECT 1 FROM parts WHERE part_number IN (?, ?)", (antenna + "P1", antenna + "P2")
        ).fetchone()
        if not exists:
            raise DomainError(f"antenna {antenna} does not exist")
        position = position_of_antenna(conn, antenna)
        grid_code = position.grid_code if position else None
        coordinates = coordinates_of(conn, grid_code) if grid_code else None
    signals = {}
    if antenna is not None:
        for polarization in POLARIZATIONS:
            signals[polarization] = chain_info(chain_through(conn, antenna + polarization))
    return {
        "antenna_number": antenna,
        "grid_code": grid_code,
        "position": position_info(position),
        "coordinates": (
            {
                "latitude": coordinates.latitude,
                "longitude": coordinates.longitude,
                "height": coordinates.height,
                "coordinate_system": coordinates.coordinate_system,
            }
            if coordinates
            else None
        ),
        "signals": signals,
    }


_POSITION_COLUMNS = (
    "antenna_number, grid_code, array_id, row_offset, east_col, assigned_at, notes,"
    " latitude, longitude, height, coordinate_system"
)


def positions_of(conn: sqlite3.Connection, antennas: Iterable[str]) -> dict[str, AntennaPosition]:
    """The grid positions of the given antennas (base numbers), in one indexed query."""
    wanted = sorted(set(antennas))
    if not wanted:
        return {}
    rows = conn.execute(
        f"SELECT {_POSITION_COLUMNS} FROM antenna_positions"
        " WHERE antenna_number IN (SELECT value FROM json_each(?))",
        (json.dumps(wanted),),
    )
    return {row[0]: AntennaPosition(*row) for row in rows}


PortRow = tuple[dict[str, Any], Chain | None]


def port_rows(
    conn: sqlite3.Connection,
    board_ids: Sequence[SnapBoardId],
    boards: Mapping[SnapBoardId, SnapBoard],
    port_walks: Mapping[str, tuple[str, ...]] | None = None,
) -> dict[SnapBoardId, list[PortRow]]:
    """What reaches each of the 12 ports of each board (and the chain, for callers that
    show more of it).

    ``port_walks`` (port → ``walk_links`` from it, for the ports something feeds) comes
    from a :class:`~casman.db.chains.ChainIndex` when the caller keeps one; without it all
    ports are walked together through the indexes (:func:`walk_many`): a few dozen queries
    for the 528 ports of the whole array, whatever the size of the log.
    """
    ports = [board_id.port(number) for board_id in board_ids for number in range(PORTS_PER_BOARD)]
    names = {port: port.part_number for port in ports}
    if port_walks is None:
        reader = LinkReader(conn)
        walked = walk_many(reader, names.values())
        port_walks = {
            name: walked[name] for name in names.values() if reader.incoming(name) is not None
        }
    chains: dict[SnapPort, Chain] = {}
    feeders: dict[SnapPort, str] = {}
    for port, name in names.items():
        walk = port_walks.get(name)
        if walk is not None:
            chains[port] = build_chain(walk, boards)
            feeders[port] = walk[walk.index(name) - 1]  # the walk runs through its feeder
    positions = positions_of(
        conn, [chain.antenna[:8] for chain in chains.values() if chain.antenna is not None]
    )
    found: dict[SnapBoardId, list[PortRow]] = {board_id: [] for board_id in board_ids}
    for board_id in board_ids:
        board = boards.get(board_id)
        for number in range(PORTS_PER_BOARD):
            port = board_id.port(number)
            chain = chains.get(port)
            antenna = chain.antenna if chain else None
            position = positions.get(antenna[:8]) if antenna else None
            info = {
                "port": number,
                "snap_port": names[port],
                "snap_port_name": port.field_name,
                "packet_index": board.packet_index(number) if board else None,
                "connected_from": feeders.get(port),
                "antenna": antenna,
                "polarization": antenna[-2:] if antenna else None,
                "grid_code": position.grid_code if position else None,
                "chain": list(chain.parts) if chain else None,
            }
            found[board_id].append((info, chain))
    return found


def board_report(conn: sqlite3.Connection, board_id: SnapBoardId) -> dict[str, Any]:
    """A board's configuration and, for each of its 12 ports, what reaches it."""
    with read_snapshot(conn):
        board = get_board(conn, board_id)
        boards = {board_id: board} if board is not None else {}
        ports = [info for info, _ in port_rows(conn, [board_id], boards)[board_id]]
    return {
        "board": board_id.name,
        "configured": board is not None,
        "config": board_info(board),
        "ports": ports,
    }


def array_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many antennas are placed, grid positions surveyed and SNAP boards configured:
    three ``count(*)``, not three lists."""

    def count(table: str) -> int:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    return {
        "assigned_antennas": count("antenna_positions"),
        "grid_positions": count("grid_positions"),
        "snap_boards": count("snap_boards"),
    }
