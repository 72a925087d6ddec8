"""Applying records, in fold order, to tables held in memory.

Each table is keyed by its natural key. Row ids follow what SQLite would have given the
writer: the id the writer saw when it is still free, otherwise the next one; the assembly
log is append-only and numbered in fold order, so "the newest event of a pair" is simply
its highest id, and the stamp order (causality, not the technicians' clocks) decides.

An operation that cannot apply is skipped and remembered: an insert of a part number that
already exists (the first keeps it, since later records were made against it), a row that
would take another row's unique value (a grid code, a SNAP serial), an update of a row that
is gone. Whether such a skip is a conflict someone must settle is decided from the record
set in :mod:`.conflicts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from casman.domain.record_tables import AUTOINCREMENT_TABLES, COLUMNS, ID_TABLES, TABLES
from casman.domain.records import ChangeRecord, RowOp, Value, natural_key, sort_records
from casman.sync.fold.conflicts import Conflict, find_conflicts

Row = dict[str, Value]

UNIQUE_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "parts": (),
    "assembly": (),
    "antenna_positions": (("grid_code",), ("array_id", "row_offset", "east_col")),
    "snap_boards": (("serial_number",), ("mac_address",), ("ip_address",), ("feng_id",)),
    "grid_positions": (),
}


@dataclass(frozen=True)
class Skipped:
    """An operation the fold could not apply, and why."""

    record: str
    ref: str
    reason: str


@dataclass
class Tables:
    """The spec's tables as the fold builds them (with indexes on ids and unique values,
    so applying a record costs the same at 100x as at demo size)."""

    rows: dict[str, dict[str, Row]] = field(default_factory=lambda: {t: {} for t in TABLES})
    log: list[Row] = field(default_factory=list)
    sequence: dict[str, int] = field(default_factory=dict)
    _ids: dict[str, set[int]] = field(default_factory=lambda: {t: set() for t in TABLES})
    _max_id: dict[str, int] = field(default_factory=dict)
    _unique: dict[tuple[str, tuple[str, ...]], dict[tuple[Value, ...], str]] = field(
        default_factory=dict
    )

    def ordered(self, table: str) -> list[Row]:
        """The table's rows, by id (grid positions by grid code)."""
        if table == "assembly":
            return list(self.log)
        rows = list(self.rows[table].values())
        if table in ID_TABLES:
            return sorted(rows, key=lambda r: int(r["id"] or 0))
        return sorted(rows, key=lambda r: str(r["grid_code"]))

    def _next_id(self, table: str) -> int:
        return max(self._max_id.get(table, 0), self.sequence.get(table, 0)) + 1

    @staticmethod
    def _values(row: Mapping[str, Value], columns: tuple[str, ...]) -> tuple[Value, ...] | None:
        wanted = tuple(row.get(c) for c in columns)
        return None if any(v is None for v in wanted) else wanted

    def _clash(self, table: str, row: Mapping[str, Value], key: str) -> str | None:
        for columns in UNIQUE_COLUMNS[table]:
            wanted = self._values(row, columns)
            holder = self._unique.get((table, columns), {}).get(wanted) if wanted else None
            if holder is not None and holder != key:
                return f"{'/'.join(columns)} {'/'.join(map(str, wanted or ()))} is {holder}'s"
        return None

    def _forget(self, table: str, key: str) -> Row | None:
        row = self.rows[table].pop(key, None)
        if row is None:
            return None
        if table in ID_TABLES:
            self._ids[table].discard(int(row["id"] or 0))
        for columns in UNIQUE_COLUMNS[table]:
            wanted = self._values(row, columns)
            if wanted is not None:
                self._unique.get((table, columns), {}).pop(wanted, None)
        return row

    def remember(self, table: str, key: str, row: Row) -> None:
        self.rows[table][key] = row
        if table in ID_TABLES:
            row_id = int(row["id"] or 0)
            self._ids[table].add(row_id)
            self._max_id[table] = max(self._max_id.get(table, 0), row_id)
            if table in AUTOINCREMENT_TABLES:
                self.sequence[table] = max(self.sequence.get(table, 0), row_id)
        for columns in UNIQUE_COLUMNS[table]:
            wanted = self._values(row, columns)
            if wanted is not None:
                self._unique.setdefault((table, columns), {})[wanted] = key

    def _place(self, table: str, op: RowOp, key: str, keep_id: Value) -> str | None:
        assert op.row is not None
        values: Row = {c: op.row.get(c) for c in COLUMNS[table]}
        clash = self._clash(table, values, key)
        if clash is not None:
            return clash
        row: Row = values
        if table in ID_TABLES:
            wanted = op.row.get("id")
            if keep_id is not None:
                row_id: Value = keep_id
            elif isinstance(wanted, int) and wanted not in self._ids[table]:
                row_id = wanted
            else:
                row_id = self._next_id(table)
            row = {"id": row_id, **values}
        self.remember(table, key, row)
        return None

    def apply(self, op: RowOp) -> str | None:
        """Apply one operation; the reason it was skipped, or None."""
        table = op.table
        if table == "assembly":
            if op.action != "insert" or op.row is None:
                return "the assembly log is append-only"
            event: Row = {"id": len(self.log) + 1}
            event.update({c: op.row.get(c) for c in COLUMNS[table]})
            self.log.append(event)
            return None
        if op.action == "delete":
            self._forget(table, op.key)
            return None
        assert op.row is not None
        current = self.rows[table].get(op.key)
        if op.action == "insert":
            if current is not None and table == "parts":
                return f"part number {op.key} already exists"
            kept = self._forget(table, op.key)
            reason = self._place(table, op, op.key, kept.get("id") if kept else None)
            if reason is not None and kept is not None:
                self.remember(table, op.key, kept)
            return reason
        # update: the row named by its old key, possibly under a new key
        if current is None:
            return f"{op.key} no longer exists"
        new_key = natural_key(table, op.row)
        if new_key != op.key and new_key in self.rows[table]:
            return f"{new_key} already exists"
        kept = self._forget(table, op.key)
        assert kept is not None
        reason = self._place(table, op, new_key, kept.get("id"))
        if reason is not None:
            self.remember(table, op.key, kept)
        return reason


@dataclass
class FoldResult:
    tables: Tables
    records: list[ChangeRecord]
    skipped: list[Skipped]
    heads: dict[str, set[str]]
    conflicts: list[Conflict] = field(default_factory=list)


def heads_of(records: Iterable[ChangeRecord]) -> dict[str, set[str]]:
    """For each ``table:key``, the records that wrote it and that no record touching the
    same key supersedes."""
    touching: dict[str, set[str]] = {}
    superseded: dict[str, set[str]] = {}
    for record in records:
        for ref in record.refs:
            touching.setdefault(ref, set()).add(record.id)
            superseded.setdefault(ref, set()).update(record.supersedes)
    return {ref: ids - superseded.get(ref, set()) for ref, ids in touching.items()}


def fold(records: Iterable[ChangeRecord]) -> FoldResult:
    """The tables and conflicts that ``records`` (any order, duplicates ignored) mean."""
    unique = {r.id: r for r in records}
    ordered = sort_records(list(unique.values()))
    tables = Tables()
    skipped: list[Skipped] = []
    for record in ordered:
        for op in record.ops:
            reason = tables.apply(op)
            if reason is not None:
                skipped.append(Skipped(record.id, op.ref, reason))
    heads = heads_of(ordered)
    result = FoldResult(tables, ordered, skipped, heads)
    result.conflicts = list(find_conflicts(result))
    return result
