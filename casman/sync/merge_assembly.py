"""Merging two diverged ``assembly`` logs over their common base.

The log is append-only, so a merge never has to choose between two versions of a row: the
merged log is the union of the base's events and of what each side appended since, with an
event both sides hold (same columns but ``id``) kept once. What a merge *can* do is make the
derived state break rule 3 (one active outgoing and one active incoming link per part): two
sites that each connected the same LNA to a different coax. Such a clash is not repaired
by dropping an event (that would rewrite history a technician scanned); both events stay and
the clash is reported so someone disconnects the wrong link with an ordinary command.

Order. The state of a pair is its newest event by ``(scan_time, id)``, so the merged ids
must keep every side's order among events of the same second (a connect and a disconnect
scanned within one second must not swap). Within one ``scan_time`` the base's events come
first in the base's order, then the two sides' new events are interleaved by a merge that
keeps each side's order and, where both sides offer a different event, takes the smaller
by content. Nothing depends on which side is called local, so merging (base, L, R) and
(base, R, L) gives the same rows and ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from casman.db.assembly import CONNECTED
from casman.db.schema import ASSEMBLY_DB
from casman.db.schema_check import column_names
from casman.sync.merge_common import (
    BASE,
    BOTH,
    LOCAL,
    REMOTE,
    Conflict,
    MergedContent,
    Row,
    SortKey,
    row_key,
    shown,
    sort_key,
)

TABLE = "assembly"
_EVENT_COLUMNS = column_names(ASSEMBLY_DB, TABLE)[1:]  # every column but ``id``
_SOURCE = _EVENT_COLUMNS.index("part_number")
_TARGET = _EVENT_COLUMNS.index("connected_to")
_TIME = _EVENT_COLUMNS.index("scan_time")
_STATUS = _EVENT_COLUMNS.index("connection_status")

Event = Row
"""An assembly row without its ``id``: an event's identity across copies."""
Pair = tuple[object, object]


def _events(rows: Sequence[Row]) -> list[Event]:
    """Rows read in ``(scan_time, id)`` order, without their ids."""
    return [tuple(row[1:]) for row in rows]


def _new_since(base: Counter[Event], side: Sequence[Event]) -> list[Event]:
    """The side's events beyond the base's, in the side's order (a multiset difference:
    an event the base holds twice is new on a side only from its third occurrence)."""
    seen: Counter[Event] = Counter()
    new: list[Event] = []
    for event in side:
        seen[event] += 1
        if seen[event] > base[event]:
            new.append(event)
    return new


def _interleave(first: Sequence[Event], second: Sequence[Event]) -> list[Event]:
    """Both sequences in one, each side's order kept, shared events once.

    At each step the two heads are compared: equal heads are one event held by both sides
    and are emitted once; otherwise the smaller by content goes first. A head whose
    occurrence was already emitted from the other side is skipped. Every choice depends only
    on content, so swapping ``first`` and ``second`` gives the same list.
    """
    emitted: Counter[Event] = Counter()
    taken = (Counter[Event](), Counter[Event]())
    sequences = (first, second)
    position = [0, 0]
    out: list[Event] = []

    def head(side: int) -> Event | None:
        index = position[side]
        return sequences[side][index] if index < len(sequences[side]) else None

    def pop(side: int, event: Event) -> None:
        position[side] += 1
        taken[side][event] += 1

    while True:
        skipped = False
        for side in (0, 1):
            event = head(side)
            if event is not None and emitted[event] > taken[side][event]:
                pop(side, event)
                skipped = True
        if skipped:
            continue
        a, b = head(0), head(1)
        if a is None and b is None:
            return out
        if a is not None and b is not None and a == b:
            pop(0, a)
            pop(1, b)
            chosen = a
        elif b is None or (a is not None and row_key(a) < row_key(b)):
            assert a is not None
            pop(0, a)
            chosen = a
        else:
            pop(1, b)
            chosen = b
        emitted[chosen] += 1
        out.append(chosen)


@dataclass(frozen=True)
class _Log:
    events: list[Event]
    origins: list[str]


def _merge_logs(base: list[Event], local: list[Event], remote: list[Event]) -> _Log:
    base_count = Counter(base)
    local_new = _new_since(base_count, local)
    remote_new = _new_since(base_count, remote)
    groups: dict[SortKey, tuple[list[Event], list[Event], list[Event]]] = {}
    for index, events in enumerate((base, local_new, remote_new)):
        for event in events:
            groups.setdefault(sort_key(event[_TIME]), ([], [], []))[index].append(event)
    local_count, remote_count = Counter(local_new), Counter(remote_new)
    merged: list[Event] = []
    origins: list[str] = []
    new_seen: Counter[Event] = Counter()
    for time in sorted(groups):
        in_base, in_local, in_remote = groups[time]
        merged += in_base
        origins += [BASE] * len(in_base)
        for event in _interleave(in_local, in_remote):
            new_seen[event] += 1
            nth = new_seen[event]
            on_local, on_remote = local_count[event] >= nth, remote_count[event] >= nth
            origins.append(BOTH if on_local and on_remote else LOCAL if on_local else REMOTE)
            merged.append(event)
    return _Log(merged, origins)


def _changes(base: list[Event], side: list[Event]) -> int:
    """Events a side appended, plus base events it lacks (a copy that lost history)."""
    base_count, side_count = Counter(base), Counter(side)
    return sum((side_count - base_count).values()) + sum((base_count - side_count).values())


Violation = tuple[str, object, frozenset[Pair]]
"""(``outgoing``/``incoming``, the part, its active links): a break of rule 3."""


def _violations(events: Sequence[Event]) -> dict[Violation, list[int]]:
    """Every part with more than one active outgoing or incoming link, mapped to the
    indices of the events that made those links active, oldest first."""
    latest: dict[Pair, int] = {}
    for index, event in enumerate(events):
        latest[(event[_SOURCE], event[_TARGET])] = index
    active = sorted(index for index in latest.values() if events[index][_STATUS] == CONNECTED)
    by_end: dict[tuple[str, object], list[int]] = {}
    for index in active:
        event = events[index]
        by_end.setdefault(("outgoing", event[_SOURCE]), []).append(index)
        by_end.setdefault(("incoming", event[_TARGET]), []).append(index)
    found: dict[Violation, list[int]] = {}
    for (direction, part), indices in by_end.items():
        if len(indices) > 1:
            pairs = frozenset((events[i][_SOURCE], events[i][_TARGET]) for i in indices)
            found[(direction, part, pairs)] = indices
    return found


def _link(event: Event, origin: str) -> str:
    where = "in the common base" if origin == BASE else f"{origin}"
    return (
        f"{shown(event[_SOURCE])} → {shown(event[_TARGET])} "
        f"(connected {shown(event[_TIME])}, {where})"
    )


def _connection_conflict(
    violation: Violation, indices: list[int], log: _Log, already: str | None
) -> Conflict:
    direction, part, _pairs = violation
    events = [log.events[i] for i in indices]
    links = [_link(log.events[i], log.origins[i]) for i in indices]
    rule = "one outgoing" if direction == "outgoing" else "one incoming"
    later = events[-1]
    command = f"casman assembly disconnect {shown(later[_SOURCE])} {shown(later[_TARGET])}"
    origin = (
        "the two sites connected it independently"
        if already is None
        else f"this was already so {already} before the merge"
    )
    ends = [event[_TARGET] if direction == "outgoing" else event[_SOURCE] for event in events]
    detail = (
        f"{shown(part)} has {len(events)} active {direction} connections after the merge "
        f"({', '.join(shown(end) for end in ends)}), but a part may have only {rule} "
        f"connection; {origin}. Both events stay in the log: check which link is real at the "
        f"array and end the other with `casman assembly disconnect SOURCE TARGET` "
        f"(e.g. `{command}`)"
    )
    return Conflict(
        database=ASSEMBLY_DB,
        kind="connection",
        key=shown(part),
        kept=links[0],
        other=" and ".join(links[1:]),
        detail=detail,
    )


def _where_before(
    violation: Violation,
    local: dict[Violation, list[int]],
    remote: dict[Violation, list[int]],
    base: dict[Violation, list[int]],
) -> str | None:
    """Which input already broke the rule in exactly this way (None: the merge did)."""
    on_local, on_remote = violation in local, violation in remote
    if on_local and on_remote:
        return "in both copies"
    if on_local:
        return "in the local copy"
    if on_remote:
        return "in the remote copy"
    if violation in base:
        return "in the common base"
    return None


def merge_assembly(
    base_rows: Sequence[Row], local_rows: Sequence[Row], remote_rows: Sequence[Row]
) -> MergedContent:
    """Union of the three logs, renumbered, with every rule-3 break of the merged state.

    Each ``*_rows`` holds full ``assembly`` rows (``id`` first) in ``(scan_time, id)``
    order.
    """
    base, local, remote = _events(base_rows), _events(local_rows), _events(remote_rows)
    log = _merge_logs(base, local, remote)
    before = (_violations(local), _violations(remote), _violations(base))
    conflicts: list[Conflict] = []
    found = _violations(log.events)
    for violation in sorted(found, key=lambda v: (v[0], sort_key(v[1]))):
        conflicts.append(
            _connection_conflict(
                violation, found[violation], log, _where_before(violation, *before)
            )
        )
    rows = [(number, *event) for number, event in enumerate(log.events, start=1)]
    return MergedContent(
        tables={TABLE: rows},
        local_changes=_changes(base, local),
        remote_changes=_changes(base, remote),
        conflicts=conflicts,
    )
