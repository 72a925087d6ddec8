"""Merging the tables of ``parts.db`` row by row, keyed by each table's natural key.

``parts`` is a union: casman never deletes or edits a part, so a part number on either side
is kept. The only clash is one number created at both sites with different rows (two labels
printed with one number); the earlier-created row is kept, since it is the one other
records were more likely made against, and the other goes into the report.

``antenna_positions``, ``snap_boards`` and ``grid_positions`` are merged three-way per
natural key (antenna number; chassis and slot; grid code), comparing rows without ``id``: a
row changed (added, edited or deleted) on one side only takes that side's version; changed
identically on both takes it; changed differently on both is a conflict. The remote side's
version wins such a conflict because it is the published one: other sites may already
have pulled it, and the local version is kept in the report so the technician who made it
can re-apply it with an ordinary command.

A merged set can also break a UNIQUE constraint that neither side broke (two sites putting
different antennas on one grid position, or giving two boards one feng_id). Each clash is
resolved before anything is inserted: the row that only the local side holds gives way,
its key falls back to the remote side's version (or to nothing), and the clash is reported.
Rows only the local side holds are consistent with one another, as are rows the remote
side holds, so this always ends with a valid set and the insert never fails.

The coordinates in ``antenna_positions`` are copies of ``grid_positions`` (DESIGN.md §3):
they are not compared for conflicts, and after the merge every assigned antenna whose grid
position has a row is given that row's coordinates, as ``load-coordinates`` would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from casman.db.schema import PARTS_DB, TABLES
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

Key = tuple[object, ...]


@dataclass(frozen=True)
class _Table:
    """How one table of ``parts.db`` is merged."""

    name: str
    kind: str  # the Conflict kind
    key: tuple[str, ...]  # natural key
    order: tuple[str, ...]  # merged ids follow this order
    derived: tuple[str, ...] = ()  # copies of other tables' values: never a conflict


_TABLES = (
    _Table("parts", "part", ("part_number",), ("date_created", "part_number")),
    _Table(
        "antenna_positions",
        "antenna_position",
        ("antenna_number",),
        ("assigned_at", "antenna_number"),
        derived=("latitude", "longitude", "height", "coordinate_system"),
    ),
    _Table("snap_boards", "snap_board", ("chassis", "slot"), ("date_added", "chassis", "slot")),
    _Table("grid_positions", "grid_position", ("grid_code",), ("grid_code",)),
)
_COORDINATES = ("latitude", "longitude", "height", "coordinate_system")


@cache
def _unique_groups(table: str) -> tuple[tuple[str, ...], ...]:
    """Every UNIQUE constraint of ``table`` (primary key of a rowid table included), read
    from casman's own DDL so a constraint added to the schema is honoured here too."""
    reference = sqlite3.connect(":memory:")
    try:
        reference.execute(TABLES[PARTS_DB][table])
        groups = []
        for index in reference.execute(f'PRAGMA index_list("{table}")').fetchall():
            if index[2]:
                info = reference.execute(f'PRAGMA index_info("{index[1]}")').fetchall()
                groups.append(tuple(str(column[2]) for column in sorted(info)))
        return tuple(sorted(groups))
    finally:
        reference.close()


@dataclass(frozen=True)
class _Columns:
    """Positions of named columns in a row without ``id``."""

    names: tuple[str, ...]
    has_id: bool

    def at(self, row: Row, column: str) -> object:
        return row[self.names.index(column)]

    def pick(self, row: Row, columns: Sequence[str]) -> Key:
        positions = self.positions(tuple(columns))
        return tuple(row[position] for position in positions)

    @cache  # noqa: B019 - a handful of instances, one per table, cached themselves
    def positions(self, columns: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(self.names.index(column) for column in columns)


@cache
def _columns(table: str) -> _Columns:
    names = column_names(PARTS_DB, table)
    has_id = names[0] == "id"
    return _Columns(tuple(names[1:] if has_id else names), has_id)


def _keyed(spec: _Table, columns: _Columns, rows: Sequence[Row]) -> dict[Key, Row]:
    """Rows without ``id`` by natural key. A row whose key is NULL (never written by
    casman) is keyed by its whole content so it is neither lost nor merged with another."""
    keyed: dict[Key, Row] = {}
    for full in rows:
        row = tuple(full[1:]) if columns.has_id else tuple(full)
        key = columns.pick(row, spec.key)
        keyed[(None, *row) if None in key else key] = row
    return keyed


@dataclass
class _Chosen:
    row: Row
    origin: str  # LOCAL, REMOTE, BOTH or BASE: which input holds exactly this row


def _origin(row: Row, local: Row | None, remote: Row | None) -> str:
    on_local, on_remote = row == local, row == remote
    if on_local and on_remote:
        return BOTH
    return LOCAL if on_local else REMOTE if on_remote else BASE


# -- describing rows to a technician -------------------------------------------------------


def _key_text(spec: _Table, key: Key) -> str:
    if spec.name == "snap_boards" and len(key) == 2:
        return f"SNAP{shown(key[0])}{shown(key[1])}"
    return " ".join(shown(value) for value in key)


def _describe(spec: _Table, columns: _Columns, key: Key, row: Row | None, side: str) -> str:
    """One row as a technician reads it, ending with the side it comes from."""
    name = _key_text(spec, key)
    if row is None:
        absent = "not placed" if spec.name == "antenna_positions" else "absent"
        return f"{name} {absent} ({side})"

    def value(column: str) -> str:
        return shown(columns.at(row, column))

    if spec.name == "parts":
        text = f"{name} created {value('date_created')}"
    elif spec.name == "antenna_positions":
        text = f"{name} at {value('grid_code')}, assigned {value('assigned_at')}"
    elif spec.name == "snap_boards":
        text = (
            f"{name}: serial {value('serial_number')}, MAC {value('mac_address')}, "
            f"IP {value('ip_address')}, feng_id {value('feng_id')}"
        )
    else:
        text = (
            f"{name}: latitude {value('latitude')}, longitude {value('longitude')}, "
            f"height {value('height')}, {value('coordinate_system')}"
        )
    notes = columns.at(row, "notes") if "notes" in columns.names else None
    if notes:
        text += f", notes {shown(notes)!r}"
    return f"{text} ({side})"


def _fix_hint(spec: _Table, columns: _Columns, key: Key, local: Row | None) -> str:
    """The ordinary command that re-applies the local version, if it is the right one."""
    name = _key_text(spec, key)
    if spec.name == "antenna_positions":
        if local is None:
            return f"if the local removal is right, run `casman antenna remove {name}`"
        code = shown(columns.at(local, "grid_code"))
        return f"if the local placement is right, run `casman antenna assign {name} {code} --force`"
    if spec.name == "snap_boards":
        return (
            "if the local values are right, correct snap_boards.csv and run "
            "`casman database load-snap-boards --csv FILE`"
        )
    return (
        "if the local coordinates are right, correct grid_positions.csv and run "
        "`casman database load-coordinates --csv FILE`"
    )


# -- the three-way choice ------------------------------------------------------------------


def _choose_part(
    spec: _Table,
    columns: _Columns,
    key: Key,
    base: Row | None,
    local: Row | None,
    remote: Row | None,
) -> tuple[Row | None, Conflict | None]:
    """Union: a part on any side stays; one number created twice keeps the earlier row."""
    if local == remote:
        return (local if local is not None else base), None
    if local is None:
        return remote, None
    if remote is None:
        return local, None
    if local == base:
        return remote, None
    if remote == base:
        return local, None
    local_date = sort_key(columns.at(local, "date_created"))
    remote_date = sort_key(columns.at(remote, "date_created"))
    keep_local = local_date <= remote_date
    kept, other = (local, remote) if keep_local else (remote, local)
    kept_side, other_side = (LOCAL, REMOTE) if keep_local else (REMOTE, LOCAL)
    name = _key_text(spec, key)
    if columns.at(local, "part_type") == "SNAP":
        advice = (
            f"SNAP port {name} was first recorded at both sites; the merge keeps the "
            f"earlier record ({kept_side}) and the connections of both; nothing to do"
        )
    else:
        part_type = shown(columns.at(kept, "part_type"))
        polarization = shown(columns.at(kept, "polarization"))
        advice = (
            f"{name} was created at both sites, so two physical parts may carry this number; "
            f"the merge keeps the one created first ({kept_side}). Give the other part a new "
            f"number with `casman parts add {part_type} 1 {polarization}`, relabel it and "
            f"scan its connections again"
        )
    conflict = Conflict(
        database=PARTS_DB,
        kind=spec.kind,
        key=name,
        kept=_describe(spec, columns, key, kept, kept_side),
        other=_describe(spec, columns, key, other, other_side),
        detail=advice,
    )
    return kept, conflict


def _choose_row(
    spec: _Table,
    columns: _Columns,
    key: Key,
    base: Row | None,
    local: Row | None,
    remote: Row | None,
) -> tuple[Row | None, Conflict | None]:
    """Three-way: one-sided changes apply; two different changes keep the remote one."""
    if local in (remote, base):
        return remote, None
    if remote == base:
        return local, None
    compared = [name for name in columns.names if name not in spec.derived]

    def essence(row: Row | None) -> Key | None:
        return None if row is None else columns.pick(row, compared)

    if essence(local) == essence(remote):
        return remote, None  # they differ only in copied values, refreshed after the merge
    conflict = Conflict(
        database=PARTS_DB,
        kind=spec.kind,
        key=_key_text(spec, key),
        kept=_describe(spec, columns, key, remote, REMOTE),
        other=_describe(spec, columns, key, local, LOCAL),
        detail=(
            f"{_key_text(spec, key)} was changed differently at the two sites; the merge "
            f"keeps the remote (published) version; {_fix_hint(spec, columns, key, local)}"
        ),
    )
    return remote, conflict


# -- UNIQUE constraints across the merged set ------------------------------------------------


def _clashes(
    table: str, columns: _Columns, chosen: Mapping[Key, _Chosen]
) -> list[tuple[tuple[str, ...], Key, list[Key]]]:
    """Every (constraint, value, keys) where two merged rows share a UNIQUE value."""
    found = []
    for group in _unique_groups(table):
        holders: dict[Key, list[Key]] = {}
        for key, item in chosen.items():
            value = columns.pick(item.row, group)
            if None not in value:  # SQLite's UNIQUE lets NULLs repeat
                holders.setdefault(value, []).append(key)
        for value, keys in holders.items():
            if len(keys) > 1:
                found.append((group, value, sorted(keys, key=row_key)))
    return sorted(found, key=lambda clash: (clash[0], row_key(clash[1])))


def _resolve_unique(
    spec: _Table,
    columns: _Columns,
    chosen: dict[Key, _Chosen],
    remote: Mapping[Key, Row],
) -> list[Conflict]:
    """Make the merged set satisfy every UNIQUE constraint, reporting each row that gave
    way. The row only the local side holds gives way and falls back to the remote version."""
    conflicts: list[Conflict] = []
    while clashes := _clashes(spec.name, columns, chosen):
        moved: set[Key] = set()
        for group, value, keys in clashes:
            if moved.intersection(keys):
                continue  # this pass already changed one of them: look again next pass
            losers = [key for key in keys if chosen[key].origin == LOCAL]
            winners = [key for key in keys if key not in losers]
            if not losers or not winners:  # not possible with valid inputs; stay safe
                winners, losers = keys[:1], keys[1:]
            winner = chosen[winners[0]]
            for key in losers:
                lost = chosen.pop(key)
                fallback = remote.get(key)
                if lost.origin == LOCAL and fallback is not None:
                    chosen[key] = _Chosen(fallback, REMOTE)
                moved.add(key)
                conflicts.append(
                    _unique_conflict(
                        spec,
                        columns,
                        group,
                        value,
                        (winners[0], winner),
                        key,
                        lost,
                        chosen.get(key),
                    )
                )
    return conflicts


def _unique_conflict(
    spec: _Table,
    columns: _Columns,
    group: tuple[str, ...],
    value: Key,
    winner: tuple[Key, _Chosen],
    key: Key,
    lost: _Chosen,
    now: _Chosen | None,
) -> Conflict:
    """The conflict for ``key``'s row, which gave way to ``winner``'s on a UNIQUE value and
    is ``now`` the remote version (or absent)."""
    winner_key, kept = winner
    label = " and ".join(group).replace("_", " ")
    shown_value = "/".join(shown(part) for part in value)
    name, holder = _key_text(spec, key), _key_text(spec, winner_key)
    kept_text = _describe(spec, columns, winner_key, kept.row, kept.origin)
    other_text = _describe(spec, columns, key, lost.row, lost.origin)
    if spec.name == "antenna_positions":
        conflict_key = shown(columns.at(lost.row, "grid_code"))
        where = (
            "is not placed now"
            if now is None
            else f"stays at {shown(columns.at(now.row, 'grid_code'))} as on the remote copy"
        )
        advice = (
            f"{conflict_key} was given to {holder} at one site and to {name} at the other; the "
            f"merge keeps {holder} there and {name} {where}. Check which antenna stands at "
            f"{conflict_key}; if it is {name}, run `casman antenna remove {holder}` and "
            f"`casman antenna assign {name} {conflict_key} --force`"
        )
    else:
        conflict_key = name
        fate = "is left out" if now is None else "keeps the remote copy's values"
        advice = (
            f"{label} {shown_value} of {name} ({lost.origin}) is already used by {holder} "
            f"({kept.origin}); the merge keeps {holder}'s row and {name} {fate}; "
            f"{_fix_hint(spec, columns, key, lost.row)}"
        )
    return Conflict(
        database=PARTS_DB,
        kind=spec.kind,
        key=conflict_key,
        kept=kept_text,
        other=other_text,
        detail=advice,
    )


# -- the whole database ----------------------------------------------------------------------


def _merge_table(
    spec: _Table,
    base_rows: Sequence[Row],
    local_rows: Sequence[Row],
    remote_rows: Sequence[Row],
) -> tuple[dict[Key, Row], int, int, list[Conflict]]:
    columns = _columns(spec.name)
    base = _keyed(spec, columns, base_rows)
    local = _keyed(spec, columns, local_rows)
    remote = _keyed(spec, columns, remote_rows)
    choose: Callable[..., tuple[Row | None, Conflict | None]] = (
        _choose_part if spec.name == "parts" else _choose_row
    )
    chosen: dict[Key, _Chosen] = {}
    conflicts: list[Conflict] = []
    local_changes = remote_changes = 0
    for key in sorted(set(base) | set(local) | set(remote), key=row_key):
        in_base, in_local, in_remote = base.get(key), local.get(key), remote.get(key)
        local_changes += in_local != in_base
        remote_changes += in_remote != in_base
        row, conflict = choose(spec, columns, key, in_base, in_local, in_remote)
        if conflict is not None:
            conflicts.append(conflict)
        if row is not None:
            chosen[key] = _Chosen(row, _origin(row, in_local, in_remote))
    conflicts += _resolve_unique(spec, columns, chosen, remote)
    return {key: item.row for key, item in chosen.items()}, local_changes, remote_changes, conflicts


def _refresh_coordinates(positions: dict[Key, Row], grid: Mapping[Key, Row]) -> dict[Key, Row]:
    """Give each assigned antenna its grid position's coordinates, as casman keeps them."""
    antenna, coordinates = _columns("antenna_positions"), _columns("grid_positions")
    refreshed = {}
    for key, row in positions.items():
        source = grid.get((antenna.at(row, "grid_code"),))
        if source is not None:
            values = list(row)
            for column in _COORDINATES:
                values[antenna.names.index(column)] = coordinates.at(source, column)
            row = tuple(values)
        refreshed[key] = row
    return refreshed


def _numbered(spec: _Table, rows: Mapping[Key, Row]) -> list[Row]:
    """Rows in ``spec.order`` with ids 1, 2, … (no ids for a table without one)."""
    columns = _columns(spec.name)

    def order(row: Row) -> tuple[tuple[SortKey, ...], tuple[SortKey, ...]]:
        return row_key(columns.pick(row, spec.order)), row_key(row)

    ordered = sorted(rows.values(), key=order)
    if not columns.has_id:
        return ordered
    return [(number, *row) for number, row in enumerate(ordered, start=1)]


def merge_parts_database(
    base: Mapping[str, Sequence[Row]],
    local: Mapping[str, Sequence[Row]],
    remote: Mapping[str, Sequence[Row]],
) -> MergedContent:
    """Merge every table of ``parts.db``; each mapping holds full rows per table name."""
    merged: dict[str, dict[Key, Row]] = {}
    local_changes = remote_changes = 0
    conflicts: list[Conflict] = []
    for spec in _TABLES:
        rows, local_count, remote_count, found = _merge_table(
            spec, base.get(spec.name, ()), local.get(spec.name, ()), remote.get(spec.name, ())
        )
        merged[spec.name] = rows
        local_changes += local_count
        remote_changes += remote_count
        conflicts += found
    merged["antenna_positions"] = _refresh_coordinates(
        merged["antenna_positions"], merged["grid_positions"]
    )
    return MergedContent(
        tables={spec.name: _numbered(spec, merged[spec.name]) for spec in _TABLES},
        local_changes=local_changes,
        remote_changes=remote_changes,
        conflicts=conflicts,
    )
