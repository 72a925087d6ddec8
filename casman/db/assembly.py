"""The ``assembly`` table: an append-only log of connect and disconnect events.

Nothing is updated or deleted. The state of a pair is its latest event ordered by
``(scan_time, id)``; the current links of the array are derived from the whole log.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from casman.db.changes import Change
from casman.db.connection import write_transaction
from casman.db.parts import ensure_snap_part, part_exists
from casman.db.schema import ASSEMBLY_DB
from casman.domain.connections import LinkFacts, Part, check_connection, check_disconnection
from casman.domain.snap import SnapPort
from casman.domain.timestamps import now_iso

CONNECTED = "connected"
DISCONNECTED = "disconnected"
_EVENT_COLUMNS = (
    "id, part_number, part_type, polarization, scan_time, connected_to, connected_to_type,"
    " connected_polarization, connected_scan_time, connection_status"
)


@dataclass(frozen=True)
class AssemblyEvent:
    id: int
    part_number: str
    part_type: str
    polarization: str | None
    scan_time: str
    connected_to: str
    connected_to_type: str
    connected_polarization: str | None
    connected_scan_time: str
    connection_status: str


def _event(row: sqlite3.Row | tuple[object, ...]) -> AssemblyEvent:
    return AssemblyEvent(*row)


@dataclass
class ActiveLinks:
    """Current connections derived from the log: ``forward[source] = target`` and back."""

    forward: dict[str, str] = field(default_factory=dict)
    backward: dict[str, str] = field(default_factory=dict)
    # pairs that break the one-in/one-out rule (only possible in data not written by casman)
    conflicts: list[tuple[str, str]] = field(default_factory=list)


def links_from_events(events: Iterable[tuple[str, str, str]]) -> ActiveLinks:
    """Fold ``(source, target, status)`` events, already in (scan_time, id) order."""
    state: dict[tuple[str, str], str] = {}
    for source, target, status in events:
        state[(source, target)] = status
    links = ActiveLinks()
    for (source, target), status in state.items():
        if status != CONNECTED:
            continue
        if source in links.forward or target in links.backward:
            links.conflicts.append((source, target))
            continue
        links.forward[source] = target
        links.backward[target] = source
    return links


def active_links(conn: sqlite3.Connection) -> ActiveLinks:
    rows = conn.execute(
        "SELECT part_number, connected_to, connection_status FROM asm.assembly"
        " ORDER BY scan_time, id"
    )
    return links_from_events(rows)


def _active_partners(conn: sqlite3.Connection, column: str, other: str, part: str) -> list[str]:
    """Parts currently linked to ``part`` where ``part`` sits in ``column``."""
    rows = conn.execute(
        f"SELECT {other}, connection_status FROM asm.assembly WHERE {column} = ?"
        " ORDER BY scan_time, id",
        (part,),
    )
    state: dict[str, str] = {}
    for partner, status in rows:
        state[partner] = status
    return [partner for partner, status in state.items() if status == CONNECTED]


def active_link_counts(conn: sqlite3.Connection, part: str) -> tuple[int, int]:
    """How many active outgoing and incoming links ``part`` has (a rule break if > 1)."""
    return (
        len(_active_partners(conn, "part_number", "connected_to", part)),
        len(_active_partners(conn, "connected_to", "part_number", part)),
    )


def outgoing(conn: sqlite3.Connection, part: str) -> str | None:
    partners = _active_partners(conn, "part_number", "connected_to", part)
    return partners[0] if partners else None


def incoming(conn: sqlite3.Connection, part: str) -> str | None:
    partners = _active_partners(conn, "connected_to", "part_number", part)
    return partners[0] if partners else None


def _exists(conn: sqlite3.Connection, part: Part) -> bool:
    return isinstance(part, SnapPort) or part_exists(conn, part.part_number)


def _append(
    conn: sqlite3.Connection,
    source: Part,
    target: Part,
    status: str,
    scan_time: str,
    target_scan_time: str,
) -> int:
    cursor = conn.execute(
        "INSERT INTO asm.assembly (part_number, part_type, polarization, scan_time, connected_to,"
        " connected_to_type, connected_polarization, connected_scan_time, connection_status)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            source.part_number,
            source.part_type.name,
            source.polarization,
            scan_time,
            target.part_number,
            target.part_type.name,
            target.polarization,
            target_scan_time,
            status,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def connect(
    conn: sqlite3.Connection,
    source: Part,
    target: Part,
    scan_time: str | None = None,
    target_scan_time: str | None = None,
) -> int:
    """Validate against the rules and append a ``connected`` event, atomically."""
    stamp = scan_time or now_iso()
    with write_transaction(conn, Change(ASSEMBLY_DB, "connect")):
        facts = LinkFacts(
            source_exists=_exists(conn, source),
            target_exists=_exists(conn, target),
            source_outgoing=outgoing(conn, source.part_number),
            target_incoming=incoming(conn, target.part_number),
        )
        check_connection(source, target, facts)
        if isinstance(target, SnapPort):
            ensure_snap_part(conn, target, stamp)
        return _append(conn, source, target, CONNECTED, stamp, target_scan_time or stamp)


def disconnect(
    conn: sqlite3.Connection,
    source: Part,
    target: Part,
    scan_time: str | None = None,
    target_scan_time: str | None = None,
) -> int:
    """Append a ``disconnected`` event for a pair that is currently connected."""
    stamp = scan_time or now_iso()
    with write_transaction(conn, Change(ASSEMBLY_DB, "disconnect")):
        # the pair's own state, not "the" outgoing link: after a merge a part may have two
        # (a conflict), and disconnecting either one is how a technician resolves it
        partners = _active_partners(conn, "part_number", "connected_to", source.part_number)
        connected = target.part_number in partners
        check_disconnection(source, target, connected)
        return _append(conn, source, target, DISCONNECTED, stamp, target_scan_time or stamp)


def history(conn: sqlite3.Connection, part_number: str) -> list[AssemblyEvent]:
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM asm.assembly WHERE part_number = ? OR connected_to = ?"
        " ORDER BY scan_time, id",
        (part_number, part_number),
    )
    return [_event(tuple(row)) for row in rows]


def all_events(conn: sqlite3.Connection) -> list[AssemblyEvent]:
    rows = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM asm.assembly ORDER BY scan_time, id")
    return [_event(tuple(row)) for row in rows]
