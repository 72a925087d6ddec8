"""A small, real database for the web tests: the deployed CSVs plus a few known chains.

Built with casman's own loaders and ``casman.db.assembly.connect`` (so every rule is
applied), except one legacy event written straight into the log to show how a rule
violation from old data is highlighted.

What the tests can rely on (board values come from examples/data/snap_boards.csv):

- ANT00001 at CN002E03: P1 → SNAP1A05 (board SNAP1A, serial 152, feng 0, packet 5);
  P2 → SNAP2C07 (serial 143, feng 14, packet 175)
- ANT00003 at CS021E06: P1 → SNAP4F00 (serial 084, feng 5, packet 60)
- ANT00002 at CC000E01: P1 stops at CXS00002P1 (incomplete); P2 → SNAP4K11, a board that
  is not configured
- LNA00003P2 → CXL00003P2 is a legacy link that skips COAXSHORT (a rule violation)
- BAC00003P2 was connected to SNAP1B03 and disconnected again: the port has a ``parts`` row
  but no chain, and board SNAP1B (configured) has no connected port at all
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

from casman.db.assembly import connect, disconnect
from casman.db.connection import open_databases
from casman.db.parts import add_parts
from casman.db.positions import assign, load_coordinates
from casman.db.snap_boards import load_boards
from casman.domain.connections import parse_part
from casman.domain.grid import parse_grid_code
from casman.domain.parts import CHAIN_ORDER
from tests.conftest import GRID_CSV, SNAP_CSV

CHAIN_PREFIXES = ("ANT", "LNA", "CXS", "CXL", "BAC")


def _link(conn: sqlite3.Connection, parts: list[str]) -> None:
    for source, target in itertools.pairwise(parts):
        connect(conn, parse_part(source), parse_part(target))


def full_chain(number: int, polarization: str, snap_port: str) -> list[str]:
    return [f"{prefix}{number:05d}{polarization}" for prefix in CHAIN_PREFIXES] + [snap_port]


def build_web_database(directory: Path) -> Path:
    """Create and fill the database directory; returns it."""
    conn = open_databases(directory)
    try:
        load_boards(conn, SNAP_CSV)
        load_coordinates(conn, GRID_CSV)
        for part_type in CHAIN_ORDER[:-1]:
            for polarization in ("P1", "P2"):
                add_parts(conn, part_type, 3, polarization)
        _link(conn, full_chain(1, "P1", "SNAP1A05"))
        _link(conn, full_chain(1, "P2", "SNAP2C07"))
        _link(conn, full_chain(3, "P1", "SNAP4F00"))
        _link(conn, ["ANT00002P1", "LNA00002P1", "CXS00002P1"])
        _link(conn, full_chain(2, "P2", "SNAP4K11"))
        conn.execute(
            "INSERT INTO asm.assembly (part_number, part_type, polarization, scan_time,"
            " connected_to, connected_to_type, connected_polarization, connected_scan_time,"
            " connection_status) VALUES ('LNA00003P2', 'LNA', 'P2', '2024-01-01T00:00:00Z',"
            " 'CXL00003P2', 'COAXLONG', 'P2', '2024-01-01T00:00:00Z', 'connected')"
        )
        connect(conn, parse_part("BAC00003P2"), parse_part("SNAP1B03"))
        disconnect(conn, parse_part("BAC00003P2"), parse_part("SNAP1B03"))
        assign(conn, "ANT00001", parse_grid_code("CN002E03"))
        assign(conn, "ANT00002", parse_grid_code("CC000E01"))
        assign(conn, "ANT00003", parse_grid_code("CS021E06"))
    finally:
        conn.close()
    return directory
