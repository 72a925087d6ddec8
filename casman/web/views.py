"""What each web page shows, as plain dicts: the HTML templates and ``?format=json`` share them.

Every answer about one antenna, chain or board is a document of :mod:`casman.documents`,
built by the same code as ``casman antenna show --json``, ``assembly chain --json`` and
``snap show --json``, so the web and the CLI never disagree.
The whole-array pages (all chains, all 44 boards) walk the links once instead of asking
per board, which keeps them fast at many times the full build-out.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from casman.db.chains import (
    Chain,
    ChainIndex,
    all_chains,
    chain_index,
    chain_through,
    chains_through,
    read_snapshot,
)
from casman.db.lookups import (
    PortRow,
    array_counts,
    board_info,
    port_rows,
)
from casman.db.parts import part_exists
from casman.db.positions import (
    AntennaPosition,
    all_coordinates,
    all_positions,
    antenna_at,
    position_of_antenna,
)
from casman.db.snap_boards import all_boards
from casman.documents import antenna_document, board_document, chain_document
from casman.domain.connections import parse_part
from casman.domain.errors import DomainError
from casman.domain.grid import (
    ArrayGeometry,
    GridPosition,
    normalise_antenna_number,
    parse_grid_code,
)
from casman.domain.kernel import KernelIndex, kernel_for_geometry
from casman.domain.snap import (
    CHASSIS_RANGE,
    PORTS_PER_BOARD,
    SLOT_LETTERS,
    SnapBoardId,
    SnapPort,
    parse_board,
    port_for_packet_index,
)
from casman.errors import CasmanError

DEFAULT_GEOMETRY = ArrayGeometry(north_rows=21, south_rows=21, first_column=1, last_column=6)
MAX_QUERY_LENGTH = 64
_BASE_NUMBER = re.compile(r"^(ANT|LNA|CXS|CXL|BAC)\d{5}$")
_BOARD_NAME = re.compile(r"^SNAP\d[A-Z]$")
_GRID_LIKE = re.compile(r"^[A-Z][A-Z]\d{3}E\d{2}$")
_KERNEL_QUERY = re.compile(r"^K(\d{1,6})$")


class NotFoundError(CasmanError):
    """A well-formed request for something the databases do not hold (HTTP 404)."""


def clean_query(text: str | None) -> str:
    """Trimmed, upper-cased search text; overly long input is refused rather than parsed."""
    cleaned = (text or "").strip().upper()
    if len(cleaned) > MAX_QUERY_LENGTH:
        raise DomainError(f"search text is longer than {MAX_QUERY_LENGTH} characters")
    return cleaned


def _part_exists(conn: sqlite3.Connection, numbers: Iterable[str]) -> bool:
    """Whether any of ``numbers`` has a ``parts`` row (the query lives in casman.db)."""
    return any(part_exists(conn, number) for number in numbers)


@dataclass(frozen=True)
class ChainQuery:
    """What a chain search names: its part numbers and, for SNAP searches, the board/port."""

    parts: frozenset[str]
    board: SnapBoardId | None = None
    port: SnapPort | None = None


def parse_chain_query(query: str) -> ChainQuery:
    """The part numbers a chain search means: ``LNA00001`` is both polarizations,
    ``SNAP1A`` all 12 ports of the board, ``SNAP1A05`` the canonical ``SNAP010105``.

    Malformed text raises the domain's own error (a 400 with its one-line reason)."""
    if _BASE_NUMBER.match(query):
        return ChainQuery(frozenset({query + "P1", query + "P2"}))
    if _BOARD_NAME.match(query):
        board = parse_board(query)
        ports = frozenset(board.port(number).part_number for number in range(PORTS_PER_BOARD))
        return ChainQuery(ports, board=board)
    part = parse_part(query)
    if isinstance(part, SnapPort):
        return ChainQuery(frozenset({part.part_number}), board=part.board, port=part)
    return ChainQuery(frozenset({part.part_number}))


def _board_ports(conn: sqlite3.Connection, board_id: SnapBoardId) -> dict[str, Any]:
    """``board_report`` with an explicit ``connected`` per port and a count, for the search."""
    report = board_document(conn, board_id)
    ports = [{**port, "connected": port["connected_from"] is not None} for port in report["ports"]]
    return {
        **report,
        "ports": ports,
        "connected_ports": sum(1 for port in ports if port["connected"]),
    }


def _not_connected_message(
    conn: sqlite3.Connection, cleaned: str, search: ChainQuery, board: dict[str, Any] | None
) -> str:
    """Why a well-formed search found no chain; NotFoundError when it names nothing known.

    A SNAP port is known whenever its chassis, slot and port are valid (DESIGN.md §3,
    rule 4: its ``parts`` row only appears on first use), so it is never a 404. A board is
    known when it is configured or one of its ports was ever used; other parts must exist.
    """
    if search.port is not None and board is not None:
        unconfigured = "" if board["configured"] else f"; board {board['board']} is not configured"
        return f"{search.port.field_name} is not connected to anything{unconfigured}"
    if search.board is not None and board is not None:
        if not board["configured"] and not _part_exists(conn, search.parts):
            raise NotFoundError(
                f"board {board['board']} is not configured and none of its ports has ever "
                "been connected; check the chassis and slot"
            )
        configured = "configured" if board["configured"] else "not configured"
        return (
            f"board {board['board']} is {configured} and none of its "
            f"{PORTS_PER_BOARD} ports is connected"
        )
    if not _part_exists(conn, search.parts):
        raise NotFoundError(f"part {cleaned} is not known; check the number")
    return f"{cleaned} is not connected to anything"


def _polarization(chain: Chain) -> str | None:
    try:
        return parse_part(chain.parts[0]).polarization
    except DomainError:
        return None


DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_PAGE = 1_000_000


def _positive(text: str | None, name: str, default: int, largest: int) -> int:
    if text is None or not text.strip():
        return default
    cleaned = text.strip()
    fits = cleaned.isdigit() and len(cleaned) <= len(str(largest))
    if not fits or not 1 <= int(cleaned) <= largest:
        raise DomainError(f"{name} {cleaned[:20]!r} is not a whole number from 1 to {largest}")
    return int(cleaned)


def parse_paging(page: str | None, per_page: str | None) -> tuple[int, int]:
    """``?page=`` (from 1) and ``?per_page=`` (default 50, at most 500); anything else is 400."""
    return (
        _positive(page, "page", 1, MAX_PAGE),
        _positive(per_page, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    )


def chains_page(
    conn: sqlite3.Connection,
    query: str | None,
    page: str | None = None,
    per_page: str | None = None,
    index: Callable[[], ChainIndex] | None = None,
) -> dict[str, Any]:
    """One page of every chain, or of the chains through the searched part(s), with their
    SNAP port details.

    A search walks the indexes from the parts it names (at most 12, for a board), so its
    cost does not depend on the size of the array. The listing without a search comes from
    ``index`` (the app keeps one per database state, :mod:`casman.web.chain_cache`), or is
    computed here when none is given. ``count``, ``complete`` and ``with_problems`` are over
    every matching chain; ``chains`` holds page ``page`` of ``pages``.

    ``connected`` is ``None`` without a search, else whether any chain runs through what
    was searched; a known part, port or board with no chain is a normal answer (200 with
    ``connected: false`` and a ``message``), not an error. A search for a board or a SNAP
    port also carries ``board``: its 12 ports and which of them are connected.
    """
    cleaned = clean_query(query)
    number, size = parse_paging(page, per_page)
    message = None
    connected = None
    board = None
    search = parse_chain_query(cleaned) if cleaned else None
    start, stop = (number - 1) * size, number * size
    if search is None:
        listing = index() if index is not None else chain_index(conn)
        count, complete, with_problems = len(listing), listing.complete, listing.with_problems
        shown = listing.chains(start, stop)
    else:
        with read_snapshot(conn):
            chains = chains_through(conn, sorted(search.parts))
            board = _board_ports(conn, search.board) if search.board is not None else None
            connected = bool(chains)
            if not chains:
                message = _not_connected_message(conn, cleaned, search, board)
        count = len(chains)
        complete = sum(1 for chain in chains if chain.complete)
        with_problems = sum(1 for chain in chains if chain.has_problems)
        shown = list(chains[start:stop])
    pages = max(1, -(-count // size))
    if number > pages:
        raise NotFoundError(f"page {number} is past the last page, {pages} ({size} chains a page)")
    return {
        "query": cleaned,
        "connected": connected,
        "message": message,
        "snap_port": search.port.field_name if search and search.port else None,
        "board": board,
        "count": count,
        "complete": complete,
        "with_problems": with_problems,
        "page": number,
        "per_page": size,
        "pages": pages,
        "chains": [chain_document(chain) for chain in shown],
    }


def grid_geometry(
    conn: sqlite3.Connection, configured: ArrayGeometry | None
) -> tuple[ArrayGeometry, str]:
    """The core grid's shape and where it came from: config, the loaded positions, or 21/21×1–6."""
    if configured is not None:
        return configured, "config"
    core = [parse_grid_code(code) for code in all_coordinates(conn)]
    core += [GridPosition(p.array_id, p.row_offset, p.east_col) for p in all_positions(conn)]
    core = [position for position in core if position.array_id == "C"]
    if not core:
        return DEFAULT_GEOMETRY, "default"
    rows = [position.row_offset for position in core]
    columns = [position.east_col for position in core]
    shape = ArrayGeometry(max(0, max(rows)), max(0, -min(rows)), min(columns), max(columns))
    return shape, "grid_positions"


def _row_label(row_offset: int) -> str:
    direction = "N" if row_offset > 0 else "S" if row_offset < 0 else "C"
    return f"{direction}{abs(row_offset):03d}"


def resolve_grid_query(
    conn: sqlite3.Connection,
    query: str,
    geometry: ArrayGeometry,
    kernel: KernelIndex | None = None,
) -> dict[str, Any]:
    """Antenna, grid code, packet index or kernel index (``K116``) → the grid position.

    A packet index goes through the boards to a SNAP port (feng_id × 12 + port) and back
    along the chain to the antenna, then to the antenna's position. Every answer carries
    the position's ``kernel_index`` (None where the kernel does not map it).
    """
    layout = kernel if kernel is not None else kernel_for_geometry(None)
    match = _resolve(conn, query, geometry, layout)
    return {**match, "kernel_index": layout.index_of(match["grid_code"])}


def _resolve(
    conn: sqlite3.Connection, query: str, geometry: ArrayGeometry, kernel: KernelIndex
) -> dict[str, Any]:
    kernel_query = _KERNEL_QUERY.match(query)
    if kernel_query is not None:
        target = kernel.position_of(int(kernel_query.group(1)))
        occupant = antenna_at(conn, target.grid_code)
        return {
            "kind": "kernel_index",
            "grid_code": target.grid_code,
            "antenna": occupant.antenna_number if occupant else None,
        }
    if query.isdigit():
        index = int(query)
        feng_id, port_number = port_for_packet_index(index)
        board = next((b for b in all_boards(conn).values() if b.feng_id == feng_id), None)
        if board is None:
            raise NotFoundError(
                f"packet index {index}: no SNAP board has feng_id {feng_id}; "
                "load the boards with `casman database load-snap-boards`"
            )
        port = board.board.port(port_number)
        chain = chain_through(conn, port.part_number)
        if chain.antenna is None:
            reached = "nothing is connected" if len(chain.parts) == 1 else "no antenna reaches it"
            raise NotFoundError(f"packet index {index} is {port.field_name}: {reached}")
        position = position_of_antenna(conn, chain.antenna[:8])
        if position is None:
            raise NotFoundError(
                f"packet index {index} is {port.field_name} ← {chain.antenna}, which is not "
                "assigned to a grid position"
            )
        return {
            "kind": "packet_index",
            "packet_index": index,
            "snap_port": port.part_number,
            "snap_port_name": port.field_name,
            "board": board.board.name,
            "antenna": chain.antenna,
            "grid_code": position.grid_code,
        }
    if _GRID_LIKE.match(query) or query[:1] in ("C", "N", "S"):
        grid = parse_grid_code(query)
        if grid.array_id != "C" or not geometry.contains(grid):
            raise NotFoundError(f"{grid.grid_code} is not a position of the core grid shown here")
        occupant = antenna_at(conn, grid.grid_code)
        return {
            "kind": "grid_code",
            "grid_code": grid.grid_code,
            "antenna": occupant.antenna_number if occupant else None,
        }
    if query.startswith("ANT"):
        antenna = normalise_antenna_number(query)
        if not _part_exists(conn, (antenna + "P1", antenna + "P2")):
            raise NotFoundError(f"antenna {antenna} does not exist")
        placed = position_of_antenna(conn, antenna)
        if placed is None:
            raise NotFoundError(f"antenna {antenna} is not assigned to a grid position")
        return {"kind": "antenna", "antenna": antenna, "grid_code": placed.grid_code}
    raise DomainError(
        f"{query!r}: search by antenna (ANT00001), grid code (CN002E03), packet index (0–527) "
        "or kernel index (K0–K255)"
    )


def grid_page(
    conn: sqlite3.Connection,
    configured: ArrayGeometry | None,
    query: str | None,
    kernel: KernelIndex | None = None,
    index: Callable[[], ChainIndex] | None = None,
) -> dict[str, Any]:
    """The core grid, north row at the top, each cell with the antenna assigned there.

    Each cell carries its correlator ``kernel_index``. ``kernel`` is the configured kernel
    (:func:`casman.domain.kernel.kernel_from_config`); without it, array C's kernel over
    the configured geometry, or over the deployed core's. It never follows the loaded grid
    positions: the kernel is the correlator's contract, not whatever was surveyed.
    """
    geometry, source = grid_geometry(conn, configured)
    layout = kernel if kernel is not None else kernel_for_geometry(configured)
    cleaned = clean_query(query)
    match = resolve_grid_query(conn, cleaned, geometry, layout) if cleaned else None
    placed: dict[str, AntennaPosition] = {p.grid_code: p for p in all_positions(conn)}
    surveyed = set(all_coordinates(conn))
    if index is not None:  # the app's chain index, kept per database state
        reaching = {part for part in index().reaching if part.startswith("ANT")}
    else:
        reaching = {chain.antenna for chain in all_chains(conn) if chain.complete and chain.antenna}
    rows: list[dict[str, Any]] = []
    for row in range(geometry.north_rows, -geometry.south_rows - 1, -1):
        cells: list[dict[str, Any]] = []
        for column in range(geometry.first_column, geometry.last_column + 1):
            position = GridPosition("C", row, column)
            code = position.grid_code
            occupant = placed.get(code)
            antenna = occupant.antenna_number if occupant else None
            connected = [pol for pol in ("P1", "P2") if antenna and antenna + pol in reaching]
            cells.append(
                {
                    "grid_code": code,
                    "kernel_index": layout.index_of(position),
                    "antenna_number": antenna,
                    "has_coordinates": code in surveyed,
                    "connected": connected,
                    "match": match is not None and match["grid_code"] == code,
                }
            )
        rows.append({"label": _row_label(row), "row_offset": row, "cells": cells})
    return {
        "query": cleaned,
        "match": match,
        "geometry": {
            "source": source,
            "north_rows": geometry.north_rows,
            "south_rows": geometry.south_rows,
            "first_column": geometry.first_column,
            "last_column": geometry.last_column,
        },
        "columns": [f"E{c:02d}" for c in range(geometry.first_column, geometry.last_column + 1)],
        "assigned": sum(1 for row in rows for cell in row["cells"] if cell["antenna_number"]),
        "rows": rows,
    }


def antenna_detail(
    conn: sqlite3.Connection, query: str, kernel: KernelIndex | None = None
) -> dict[str, Any]:
    """The antenna document (as ``casman antenna show --json``), 404 for well-formed
    numbers and codes the databases lack; ``kernel`` as for :func:`grid_page`.

    Anything not starting with ``ANT`` is read as a grid code, so a mistyped code gets the
    grid code's own explanation rather than "not an antenna number".
    """
    layout = kernel if kernel is not None else kernel_for_geometry(None)
    cleaned = clean_query(query)
    if cleaned.startswith("ANT"):
        antenna = normalise_antenna_number(cleaned)
        if not _part_exists(conn, (antenna + "P1", antenna + "P2")):
            raise NotFoundError(f"antenna {antenna} does not exist")
        return antenna_document(conn, antenna, layout)
    grid = parse_grid_code(cleaned)
    if grid.grid_code not in all_coordinates(conn) and antenna_at(conn, grid.grid_code) is None:
        raise NotFoundError(f"grid position {grid.grid_code} has no coordinates and no antenna")
    return antenna_document(conn, grid.grid_code, layout)


def board_detail(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
    """The board document (as ``casman snap show --json``); 404 for a board that is
    neither configured nor wired."""
    board_id = parse_board(clean_query(name))
    report = board_document(conn, board_id)
    if not report["configured"] and not any(p["connected_from"] for p in report["ports"]):
        raise NotFoundError(
            f"board {board_id.name} is not configured and nothing is connected to it"
        )
    return report


def _port_row(row: PortRow) -> dict[str, Any]:
    """One port in the same shape as ``board_report``'s ports, plus ``state`` for colour."""
    info, chain = row
    state = "empty"
    if info["antenna"]:
        state = info["antenna"][-2:]
    elif chain is not None:
        state = _polarization(chain) or "empty"
    return {**info, "state": state, "complete": chain.complete if chain else False}


def snap_page(
    conn: sqlite3.Connection, index: Callable[[], ChainIndex] | None = None
) -> dict[str, Any]:
    """Every chassis and slot with its 12 ports and what reaches each.

    With ``index`` (kept by the app per database state) each port's chain is looked up in
    it; without, the 528 ports are walked together through the indexes (:func:`port_rows`).
    """
    board_ids = [SnapBoardId(chassis, slot) for chassis in CHASSIS_RANGE for slot in SLOT_LETTERS]
    walks = index().port_walks if index is not None else None
    with read_snapshot(conn):
        boards = all_boards(conn)
        rows = port_rows(conn, board_ids, boards, walks)
    chassis_list: list[dict[str, Any]] = []
    for chassis in CHASSIS_RANGE:
        slots: list[dict[str, Any]] = []
        for slot in SLOT_LETTERS:
            board_id = SnapBoardId(chassis, slot)
            board = boards.get(board_id)
            slots.append(
                {
                    "board": board_id.name,
                    "configured": board is not None,
                    "config": board_info(board),
                    "ports": [_port_row(row) for row in rows[board_id]],
                }
            )
        chassis_list.append({"chassis": chassis, "boards": slots})
    connected = [
        port
        for chassis_row in chassis_list
        for board_row in chassis_row["boards"]
        for port in board_row["ports"]
        if port["connected_from"]
    ]
    return {
        "configured": len(boards),
        "connected_ports": len(connected),
        "chassis": chassis_list,
    }


def home_page(
    conn: sqlite3.Connection, index: Callable[[], ChainIndex] | None = None
) -> dict[str, Any]:
    """Counts for the landing page, so a glance says how far the build-out is.

    The chain counts come from ``index`` (kept per database state by the app) or are
    computed here; the rest are ``count(*)`` queries.
    """
    chains = index() if index is not None else chain_index(conn)
    return {
        "chains": len(chains),
        "complete_chains": chains.complete,
        "chains_with_problems": chains.with_problems,
        **array_counts(conn),
    }
