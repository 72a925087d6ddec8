"""Databases to measure against, built with direct ``executemany`` inserts (valid data).

* :func:`build_full_array`: 10× the full build-out: 2,580 antennas × 2 polarizations =
  5,160 chains ANTENNA → LNA → COAXSHORT → COAXLONG → BACBOARD, the first 528 of which end
  at one of the 528 distinct SNAP ports (4 chassis × 11 slots × 12 ports); 2,316 chains also
  have a disconnect + reconnect of their LNA → COAXSHORT link, for 25,800 events in all.
* the same with ``antennas=ANTENNAS_100X, churned=CHURNED_100X``: issue #12's 100×
  database (50,528 parts and events, 10,000 chains); :func:`place_antennas` adds the grid
  positions and assignments, :func:`build_demo` the quick start's one-chain database.

The bulk rows go in with change capture off and then get their *genesis* records
(:func:`casman.db.records.write_genesis`, one record per row, in the same transaction): the
database is what a casman 0.x database is once adopted, so the sync engine sees a realistic
record set (one record per row) instead of one record holding a hundred thousand rows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ROOT

from casman.db import capture, records
from casman.db.assembly import connect
from casman.db.chains import all_chains
from casman.db.connection import open_databases, write_transaction
from casman.db.parts import add_parts
from casman.db.positions import all_coordinates, assign, load_coordinates
from casman.db.snap_boards import load_boards
from casman.domain.connections import parse_part
from casman.domain.grid import parse_grid_code
from casman.domain.parts import NUMBERED_TYPES, POLARIZATIONS, PartType
from casman.domain.snap import PORTS_PER_BOARD, SLOT_LETTERS, SnapPort
from casman.domain.timestamps import to_iso

SNAP_BOARDS_CSV = ROOT / "examples" / "data" / "snap_boards.csv"
ANTENNAS_10X = 2_580
CHURNED_CHAINS = 2_316
# issue #12's 100× database: 50,528 parts, 50,528 events, 10,000 chains
ANTENNAS_100X = 5_000
CHURNED_100X = 5_000
GRID_CSV = ROOT / "examples" / "data" / "grid_positions.csv"
DEMO_CHAIN = ("ANT00001P1", "LNA00001P1", "CXS00001P1", "CXL00001P1", "BAC00001P1", "SNAP1A05")
STAMP = "2025-01-01T00:00:00Z"

_INSERT_PART = (
    "INSERT INTO parts (part_number, part_type, polarization, date_created, date_modified)"
    " VALUES (?, ?, ?, ?, ?)"
)
_INSERT_EVENT = (
    "INSERT INTO asm.assembly (part_number, part_type, polarization, scan_time, connected_to,"
    " connected_to_type, connected_polarization, connected_scan_time, connection_status)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

Event = tuple[str, str, str | None, str, str, str, str | None, str, str]


@dataclass(frozen=True)
class ArrayInfo:
    parts: int
    events: int
    chains: int
    snap_chains: int
    boards: int


def part_number(part_type: PartType, serial: int, polarization: str) -> str:
    return f"{part_type.prefix}{serial:05d}{polarization}"


def all_snap_ports() -> list[SnapPort]:
    return [
        SnapPort(chassis, slot, port)
        for chassis in range(1, 5)
        for slot in SLOT_LETTERS
        for port in range(PORTS_PER_BOARD)
    ]


class _Clock:
    """One event per second from 2025-01-01, so (scan_time, id) order is the insert order."""

    def __init__(self) -> None:
        self.moment = datetime(2025, 1, 1, tzinfo=UTC)

    def tick(self) -> str:
        self.moment += timedelta(seconds=1)
        return to_iso(self.moment)


def _event(
    source: str,
    source_type: PartType,
    target: str,
    target_type: PartType,
    pol: str | None,
    status: str,
    stamp: str,
) -> Event:
    target_pol = None if target_type is PartType.SNAP else pol
    return (
        source,
        source_type.name,
        pol,
        stamp,
        target,
        target_type.name,
        target_pol,
        stamp,
        status,
    )


def build_full_array(
    directory: Path, antennas: int = ANTENNAS_10X, churned: int = CHURNED_CHAINS
) -> ArrayInfo:
    """The 10× database (or, with ``antennas=ANTENNAS_100X, churned=CHURNED_100X``, the
    100× one), its rows with their genesis records; checks its own shape with
    ``all_chains`` (untimed)."""
    ports = all_snap_ports()
    parts_rows: list[tuple[str, str, str | None, str, str]] = [
        (part_number(kind, serial, pol), kind.name, pol, STAMP, STAMP)
        for kind in NUMBERED_TYPES
        for pol in POLARIZATIONS
        for serial in range(1, antennas + 1)
    ]
    parts_rows += [(port.part_number, "SNAP", None, STAMP, STAMP) for port in ports]
    clock = _Clock()
    events: list[Event] = []
    chains = [(serial, pol) for serial in range(1, antennas + 1) for pol in POLARIZATIONS]
    for index, (serial, pol) in enumerate(chains):
        names = [part_number(kind, serial, pol) for kind in NUMBERED_TYPES]
        for position in range(len(NUMBERED_TYPES) - 1):
            events.append(
                _event(
                    names[position],
                    NUMBERED_TYPES[position],
                    names[position + 1],
                    NUMBERED_TYPES[position + 1],
                    pol,
                    "connected",
                    clock.tick(),
                )
            )
        if index < len(ports):
            events.append(
                _event(
                    names[-1],
                    PartType.BACBOARD,
                    ports[index].part_number,
                    PartType.SNAP,
                    pol,
                    "connected",
                    clock.tick(),
                )
            )
    for serial, pol in chains[: 2 * churned : 2]:
        lna = part_number(PartType.LNA, serial, pol)
        cxs = part_number(PartType.COAXSHORT, serial, pol)
        for status in ("disconnected", "connected"):
            events.append(
                _event(lna, PartType.LNA, cxs, PartType.COAXSHORT, pol, status, clock.tick())
            )
    conn = open_databases(directory)
    try:
        with write_transaction(conn):
            capture.set_capture(conn, False)
            try:
                conn.executemany(_INSERT_PART, parts_rows)
                conn.executemany(_INSERT_EVENT, events)
                records.write_genesis(conn)
            finally:
                capture.set_capture(conn, True)
        report = load_boards(conn, SNAP_BOARDS_CSV)
        conn.execute("ANALYZE")
        found = all_chains(conn)
    finally:
        conn.close()
    snap_chains = sum(1 for chain in found if chain.snap_port is not None)
    if len(found) != len(chains) or snap_chains != min(len(ports), len(chains)):
        raise RuntimeError(f"unexpected shape: {len(found)} chains, {snap_chains} to SNAP ports")
    return ArrayInfo(len(parts_rows), len(events), len(found), snap_chains, report.loaded)


def place_antennas(directory: Path, antennas: int) -> int:
    """Load ``grid_positions.csv`` and assign antennas 1… to its positions with casman's own
    ``assign`` (ANT00001 at CN002E03, as in the quick start); returns how many were placed."""
    conn = open_databases(directory)
    try:
        load_coordinates(conn, GRID_CSV)
        codes = [code for code in all_coordinates(conn) if code != "CN002E03"]
        targets = ["CN002E03", *codes][:antennas]
        for serial, code in enumerate(targets, start=1):
            assign(conn, f"ANT{serial:05d}", parse_grid_code(code))
    finally:
        conn.close()
    return len(targets)


def build_demo(directory: Path) -> None:
    """The quick start's database (examples/quickstart.sh), through casman's own db layer:
    two parts of each type, one full chain ANT00001P1 → … → SNAP1A05, the deployed SNAP
    boards and grid positions, ANT00001 at CN002E03."""
    conn = open_databases(directory)
    try:
        for kind in NUMBERED_TYPES:
            add_parts(conn, kind, 2, "P1")
        for source, target in itertools.pairwise(DEMO_CHAIN):
            connect(conn, parse_part(source), parse_part(target))
        load_boards(conn, SNAP_BOARDS_CSV)
    finally:
        conn.close()
    place_antennas(directory, 1)


def build_small(directory: Path, antennas: int = 10) -> None:
    """A handful of parts and one connection per antenna: what `casman parts list` reads in
    the start-up figure."""
    rows = [
        (part_number(kind, serial, "P1"), kind.name, "P1", STAMP, STAMP)
        for kind in (PartType.ANTENNA, PartType.LNA)
        for serial in range(1, antennas + 1)
    ]
    clock = _Clock()
    events = [
        _event(
            part_number(PartType.ANTENNA, serial, "P1"),
            PartType.ANTENNA,
            part_number(PartType.LNA, serial, "P1"),
            PartType.LNA,
            "P1",
            "connected",
            clock.tick(),
        )
        for serial in range(1, antennas + 1)
    ]
    conn = open_databases(directory)
    try:
        with write_transaction(conn):
            conn.executemany(_INSERT_PART, rows)
            conn.executemany(_INSERT_EVENT, events)
    finally:
        conn.close()


def add_spare_pairs(directory: Path, first: int, count: int) -> list[tuple[str, str]]:
    """``count`` new ANTENNA/LNA pairs numbered from ``first`` (one ordinary, recorded write),
    each free to be connected by one scripted scan; returns their part numbers."""
    pairs = [
        (part_number(PartType.ANTENNA, n, "P1"), part_number(PartType.LNA, n, "P1"))
        for n in range(first, first + count)
    ]
    conn = open_databases(directory)
    try:
        with write_transaction(conn):
            conn.executemany(
                _INSERT_PART,
                [
                    (name, kind, "P1", STAMP, STAMP)
                    for pair in pairs
                    for name, kind in zip(pair, ("ANTENNA", "LNA"), strict=True)
                ],
            )
    finally:
        conn.close()
    return pairs
