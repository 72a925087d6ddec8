"""Answers to the questions people ask, as plain dicts shared by the CLI and the web views.

Where is antenna X, which SNAP port and packet index do its P1 and P2 signals reach, what
does board SNAP1A carry: each answer is built here once so every interface says the same.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from casman.db.assembly import ActiveLinks, active_links
from casman.db.chains import Chain, build_chain, chain_through, walk_links
from casman.db.positions import (
    AntennaPosition,
    all_positions,
    antenna_at,
    coordinates_of,
    position_of_antenna,
)
from casman.db.snap_boards import all_boards, get_board
from casman.domain.errors import DomainError
from casman.domain.grid import normalise_antenna_number, parse_grid_code
from casman.domain.parts import POLARIZATIONS
from casman.domain.snap import PORTS_PER_BOARD, SnapBoard, SnapBoardId

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
    cleaned = query.strip().upper()
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


def port_info(
    board_id: SnapBoardId,
    number: int,
    links: ActiveLinks,
    boards: Mapping[SnapBoardId, SnapBoard],
    positions: Mapping[str, AntennaPosition],
) -> tuple[dict[str, Any], Chain | None]:
    """What reaches one port (and the chain, for callers that show more of it)."""
    board = boards.get(board_id)
    port = board_id.port(number)
    source = links.backward.get(port.part_number)
    chain = build_chain(walk_links(links, port.part_number), dict(boards)) if source else None
    antenna = chain.antenna if chain else None
    position = positions.get(antenna[:8]) if antenna else None
    info = {
        "port": number,
        "snap_port": port.part_number,
        "snap_port_name": port.field_name,
        "packet_index": board.packet_index(number) if board else None,
        "connected_from": source,
        "antenna": antenna,
        "polarization": antenna[-2:] if antenna else None,
        "grid_code": position.grid_code if position else None,
        "chain": list(chain.parts) if chain else None,
    }
    return info, chain


def board_report(conn: sqlite3.Connection, board_id: SnapBoardId) -> dict[str, Any]:
    """A board's configuration and, for each of its 12 ports, what reaches it."""
    board = get_board(conn, board_id)
    links = active_links(conn)
    boards = all_boards(conn)
    positions = {p.antenna_number: p for p in all_positions(conn)}
    ports = [
        port_info(board_id, number, links, boards, positions)[0]
        for number in range(PORTS_PER_BOARD)
    ]
    return {
        "board": board_id.name,
        "configured": board is not None,
        "config": board_info(board),
        "ports": ports,
    }
