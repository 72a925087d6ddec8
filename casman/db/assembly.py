"""The ``assembly`` table: an append-only log of connect and disconnect events.

Nothing is updated or deleted. The state of a pair is its latest event ordered by
``id``; the current links are derived from the log, never stored: either all
of them at once (:func:`active_links`, one scan) or just those around the parts asked about
(:class:`LinkReader`, through the indexes), and both apply the same rule.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from casman.db.changes import Change, announce
from casman.db.connection import write_transaction
from casman.db.parts import ensure_snap_part, part_exists
from casman.db.schema import ASSEMBLY_DB
from casman.domain.connections import (
    LinkFacts,
    Part,
    check_connection,
    orient_disconnection,
    parse_part,
)
from casman.domain.errors import DomainError
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

    def outgoing(self, part: str) -> str | None:
        return self.forward.get(part)

    def incoming(self, part: str) -> str | None:
        return self.backward.get(part)


def links_from_events(events: Iterable[tuple[str, str, str]]) -> ActiveLinks:
    """Fold ``(source, target, status)`` events, already in id order."""
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
    """Every current link of the array: one scan and sort of the whole log.

    For whole-array answers only; a question about one part or chain asks a
    :class:`LinkReader`, whose cost does not grow with the log.
    """
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: a third of the cost of sqlite3.Row here
    rows = cursor.execute(
        "SELECT part_number, connected_to, connection_status FROM asm.assembly ORDER BY id"
    )
    return links_from_events(rows)


EventKey = int
"""An event's place in the log: its id. The fold numbers the log in stamp order (hybrid
logical clocks), so a later id is a causally later event, whatever ``scan_time`` says."""
Pair = tuple[str | None, str | None]


def event_key(scan_time: object, event_id: int) -> EventKey:
    """The order of events is their id; ``scan_time`` is what a technician's clock said."""
    del scan_time
    return event_id


class PairState(NamedTuple):
    """A (source, target) pair whose newest event by ``id`` is ``connected``.

    ``first_time``/``first_id`` are its oldest event: the order in which
    :func:`links_from_events` meets the pair, which decides which of two clashing pairs
    becomes the link. (A NamedTuple: a page may make thousands of these.)
    """

    source: str | None
    target: str | None
    first_time: object
    first_id: int

    @property
    def pair(self) -> Pair:
        return (self.source, self.target)

    @property
    def first(self) -> EventKey:
        return event_key(self.first_time, self.first_id)


_SIDE_SQL = {
    # one part's events from it ("out", idx_assembly_part) or to it ("in", idx_assembly_target)
    "out": (
        "SELECT part_number, connected_to, connection_status, scan_time, id FROM asm.assembly"
        " WHERE part_number IS ? ORDER BY id"
    ),
    "in": (
        "SELECT part_number, connected_to, connection_status, scan_time, id FROM asm.assembly"
        " WHERE connected_to IS ? ORDER BY id"
    ),
}
_SIDE_MANY_SQL = {
    # the same for many parts at once; CROSS JOIN keeps the list as the outer loop, so
    # SQLite probes the index once per part whatever its statistics say about the table
    "out": (
        "SELECT a.part_number, a.connected_to, a.connection_status, a.scan_time, a.id"
        " FROM json_each(?) AS wanted CROSS JOIN asm.assembly AS a"
        " ON a.part_number = wanted.value ORDER BY a.id"
    ),
    "in": (
        "SELECT a.part_number, a.connected_to, a.connection_status, a.scan_time, a.id"
        " FROM json_each(?) AS wanted CROSS JOIN asm.assembly AS a"
        " ON a.connected_to = wanted.value ORDER BY a.id"
    ),
}


class LinkReader:
    """The current links around the parts asked about, read through the indexes.

    Gives exactly the links :func:`active_links` derives from the whole log, but reads
    only the events of the parts it is asked about, through ``idx_assembly_part`` (events
    *from* a part) and ``idx_assembly_target`` (events *to* a part). Walking a chain of
    n parts costs about 2n indexed range reads, whatever the size of the log.

    Why it is exact. Every event of a pair (S, T) has ``part_number = S`` and
    ``connected_to = T``, so reading one part's events from either index yields *all*
    events of each of its pairs, and folding them in ``id`` order gives each
    pair's state by today's rule (its newest event). :func:`links_from_events` then lets a
    connected pair become a link unless an *earlier-seen* pair (smaller first event) that
    did become a link shares its source or its target; :meth:`accepted` evaluates that very
    rule, following only the rival pairs of the same source or target. Data written by
    casman has no rivals (rule 3), so that costs nothing; after a merge clash it follows
    just the clashing pairs. Nothing is cached beyond the reader's life (one request, one
    command), so it never holds a stale state.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._sides: dict[str, dict[str | None, list[PairState]]] = {"out": {}, "in": {}}
        self._accepted: dict[Pair, bool] = {}
        self._links: dict[str, dict[str | None, str | None]] = {"out": {}, "in": {}}

    # --- reading ------------------------------------------------------------------------

    def _store(self, side: str, parts: list[str | None], rows: list[tuple[Any, ...]]) -> None:
        """Fold each part's events (already in id order) into its pairs."""
        seen: dict[Pair, list[Any]] = {}
        for source, target, status, scan_time, event_id in rows:
            entry = seen.get((source, target))
            if entry is None:
                seen[(source, target)] = [status, scan_time, event_id]
            else:
                entry[0] = status  # a later event of the pair: its state now
        by_part: dict[str | None, list[PairState]] = {part: [] for part in parts}
        owner = 0 if side == "out" else 1
        for pair, (status, scan_time, event_id) in seen.items():
            if status == CONNECTED:
                by_part[pair[owner]].append(PairState(pair[0], pair[1], scan_time, event_id))
        known = self._sides[side]
        for part, states in by_part.items():
            if len(states) > 1:
                states.sort(key=lambda state: state.first)
            known[part] = states

    def _query(self, sql: str, parameter: object) -> list[tuple[Any, ...]]:
        cursor = self._conn.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, (parameter,)).fetchall()

    def prefetch(self, side: str, parts: Iterable[str | None]) -> None:
        """Read the ``side`` (``"out"`` or ``"in"``) events of many parts in one query."""
        known = self._sides[side]
        wanted = sorted({p for p in parts if p not in known and isinstance(p, str)})
        if wanted:
            rows = self._query(_SIDE_MANY_SQL[side], json.dumps(wanted))
            self._store(side, list(wanted), rows)

    def prefetch_links(self, side: str, parts: Iterable[str | None]) -> None:
        """Read, in two queries, all that deciding the ``side`` link of many parts needs
        when nothing clashes: their own events and those of each candidate partner."""
        wanted = list(parts)
        self.prefetch(side, wanted)
        known = self._sides[side]
        partners = [
            state.target if side == "out" else state.source
            for part in wanted
            for state in known.get(part, ())
        ]
        self.prefetch("in" if side == "out" else "out", partners)

    def _side(self, side: str, part: str | None) -> list[PairState]:
        """The connected pairs with ``part`` as source (``out``) or target (``in``)."""
        known = self._sides[side]
        if part not in known:
            self._store(side, [part], self._query(_SIDE_SQL[side], part))
        return known[part]

    # --- the fold's rule ----------------------------------------------------------------

    def _rivals(self, state: PairState) -> list[PairState]:
        """Connected pairs seen before ``state`` that share its source or its target."""
        outs, ins = self._side("out", state.source), self._side("in", state.target)
        if len(outs) == 1 and len(ins) == 1:
            return []  # only the pair itself: the case of every link casman wrote
        first = state.first
        found = {other.pair: other for other in (*outs, *ins) if other.first < first}
        return sorted(found.values(), key=lambda other: other.first)

    def accepted(self, state: PairState) -> bool:
        """Whether the connected pair ``state`` is a current link (see the class doc).

        Iterative, so a long run of clashing pairs cannot exhaust Python's stack.
        """
        memo = self._accepted
        pair = state.pair
        if pair in memo:
            return memo[pair]
        if not self._rivals(state):
            memo[pair] = True
            return True
        stack = [state]
        while stack:
            current = stack[-1]
            if current.pair in memo:
                stack.pop()
                continue
            rivals = self._rivals(current)
            pending = [other for other in rivals if other.pair not in memo]
            if pending:
                stack.extend(pending)
                continue
            memo[current.pair] = not any(memo[other.pair] for other in rivals)
            stack.pop()
        return memo[pair]

    def _link(self, side: str, part: str | None) -> str | None:
        known = self._links[side]
        if part in known:
            return known[part]
        found = None
        for state in self._side(side, part):
            if self.accepted(state):
                found = state.target if side == "out" else state.source
                break
        known[part] = found
        return found

    def outgoing(self, part: str) -> str | None:
        """The part ``part`` currently feeds (``ActiveLinks.forward``), if any."""
        return self._link("out", part)

    def incoming(self, part: str) -> str | None:
        """The part currently feeding ``part`` (``ActiveLinks.backward``), if any."""
        return self._link("in", part)


def _active_partners(conn: sqlite3.Connection, column: str, other: str, part: str) -> list[str]:
    """Parts currently linked to ``part`` where ``part`` sits in ``column``."""
    rows = conn.execute(
        f"SELECT {other}, connection_status FROM asm.assembly WHERE {column} = ? ORDER BY id",
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
    """Append a ``disconnected`` event for a pair that is currently connected.

    The two parts may be given in either order (a technician may scan the target end
    first); the event names the pair in chain direction and keeps each part's scan time.
    """
    stamp = scan_time or now_iso()
    other_stamp = target_scan_time or stamp
    with write_transaction(conn, Change(ASSEMBLY_DB, "disconnect")):
        # the pair's own state, not "the" outgoing link: after a merge a part may have two
        # (a conflict), and disconnecting either one is how a technician resolves it
        forward = target.part_number in _active_partners(
            conn, "part_number", "connected_to", source.part_number
        )
        backward = not forward and source.part_number in _active_partners(
            conn, "part_number", "connected_to", target.part_number
        )
        first, second, reversed_scan = orient_disconnection(source, target, forward, backward)
        if reversed_scan:
            stamp, other_stamp = other_stamp, stamp
        return _append(conn, first, second, DISCONNECTED, stamp, other_stamp)


def take_out_of_service(
    conn: sqlite3.Connection, part: Part, scan_time: str | None = None
) -> list[tuple[str, str]]:
    """Disconnect every live link of ``part`` (both ends), one ordinary event each.

    Returns the (source, target) pairs ended; refused when the part has no live link.
    """
    stamp = scan_time or now_iso()
    number = part.part_number
    with write_transaction(conn) as writer:
        ended = [
            (number, target)
            for target in _active_partners(writer, "part_number", "connected_to", number)
        ] + [
            (source, number)
            for source in _active_partners(writer, "connected_to", "part_number", number)
        ]
        if not ended:
            raise DomainError(f"{number} has no live connection; nothing to disconnect")
        for source, target in ended:
            _append(writer, parse_part(source), parse_part(target), DISCONNECTED, stamp, stamp)
    announce(conn, Change(ASSEMBLY_DB, "remove from service", len(ended)))
    return ended


def event(conn: sqlite3.Connection, event_id: int) -> AssemblyEvent:
    """One event of the log by its id (what a command just recorded)."""
    row = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM asm.assembly WHERE id = ?", (event_id,)
    ).fetchone()
    return _event(tuple(row))


def history(conn: sqlite3.Connection, part_number: str) -> list[AssemblyEvent]:
    rows = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM asm.assembly WHERE part_number = ? OR connected_to = ?"
        " ORDER BY id",
        (part_number, part_number),
    )
    return [_event(tuple(row)) for row in rows]


def all_events(conn: sqlite3.Connection) -> list[AssemblyEvent]:
    rows = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM asm.assembly ORDER BY id")
    return [_event(tuple(row)) for row in rows]
