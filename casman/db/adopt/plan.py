"""Planning an adoption: every row of an older file, mapped by the rules, nothing dropped.

The plan is data: for each of casman's tables, the rows it will hold (same ids, same
count) and per rule how many values it maps, with an example; per kind, what it keeps as
written and reports. Building it reads the file and writes nothing, so the same plan
serves the dry run, the read-only view of an old file and the migration itself.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from casman.db.adopt.layout import Layout
from casman.db.adopt.rules import (
    PartFacts,
    antenna_base,
    breaks_rules,
    is_known_status,
    polarization_digits,
    read_grid_code,
    read_part,
    status,
    type_of,
    upstream_first,
)
from casman.db.adopt.times import Zone, map_time
from casman.db.schema import REQUIRED_TABLES, SCHEMA_VERSION
from casman.db.schema_check import column_names

Row = list[Any]
LEGACY_COLUMNS = {"parts": {"created_at": "date_created", "modified_at": "date_modified"}}
TIME_COLUMNS: dict[str, tuple[str, ...]] = {
    "parts": ("date_created", "date_modified"),
    "assembly": ("scan_time", "connected_scan_time"),
    "antenna_positions": ("assigned_at",),
    "snap_boards": ("date_added", "date_modified"),
    "grid_positions": (),
}


class PlanRefused(Exception):
    """Rows casman has no place for; ``str()`` names them (one line)."""


@dataclass
class Tally:
    """How often a rule (or a kind of kept value) applied to a column, with an example."""

    count: int = 0
    example: str = ""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass
class TablePlan:
    """The rows one of casman's tables will hold, in casman's column order."""

    name: str
    columns: list[str]
    rows: list[Row]
    source_rows: int
    rebuild: bool


@dataclass
class FilePlan:
    """What adopting one database file does."""

    layout: Layout
    tables: dict[str, TablePlan] = field(default_factory=dict)
    mapped: dict[tuple[str, str], Tally] = field(default_factory=dict)
    kept: dict[tuple[str, str], Tally] = field(default_factory=dict)

    def note(self, rule: str, where: str, before: object = None, after: object = None) -> None:
        """Count one application of ``rule`` (structural rules give no example); the
        example is made only for the first, as this runs for every value of every row."""
        tally = self.mapped.get((rule, where))
        if tally is None:
            example = (
                "" if before is None and after is None else f"{_show(before)} → {_show(after)}"
            )
            tally = self.mapped[(rule, where)] = Tally(0, example)
        tally.count += 1

    def keep(self, kind: str, where: str, value: object) -> None:
        tally = self.kept.get((kind, where))
        if tally is None:
            tally = self.kept[(kind, where)] = Tally(0, _show(value))
        tally.count += 1

    @property
    def substantive(self) -> bool:
        """Whether existing content changes (a table rebuilt, bookkeeping dropped): what
        needs a safety copy first, and what a reader sees only through the adopted view."""
        layout = self.layout
        return bool(
            any(table.rebuild for table in self.tables.values())
            or layout.bookkeeping
            or layout.foreign_indexes
        )

    @property
    def reads_differently(self) -> bool:
        """Whether a reader must see this file through the adopted view: its content
        changes, or it lacks a table every reader expects (the old parts.db has only
        ``parts``)."""
        layout = self.layout
        lacking = set(layout.missing) & REQUIRED_TABLES[layout.db_name]
        return self.substantive or bool(lacking and not layout.empty)

    @property
    def writes(self) -> bool:
        """Whether adopting writes anything at all (else the file is casman's as it is)."""
        layout = self.layout
        return bool(
            self.substantive
            or layout.missing
            or layout.version != SCHEMA_VERSION
            or not layout.marked
        )


@dataclass
class Context:
    """What planning one file needs to know of the other: part numbers whose canonical
    spelling two parts share (kept as written everywhere)."""

    zone: Zone
    clashing_numbers: frozenset[str] = frozenset()


def _read_rows(conn: sqlite3.Connection, layout: Layout, table: str) -> tuple[list[str], list[Row]]:
    """All rows of ``table`` as the file has them, with its own column names (and ``id``
    from the rowid when an old layout lacks the column)."""
    columns = list(layout.present[table])
    selected = [f'"{column}"' for column in columns]
    if "id" in column_names(layout.db_name, table) and "id" not in columns:
        columns.append("id")
        selected.append("rowid")
    cursor = conn.cursor()
    cursor.row_factory = None
    rows = cursor.execute(
        f"SELECT {', '.join(selected)} FROM {layout.schema}.{table} ORDER BY rowid"
    ).fetchall()
    return columns, [list(row) for row in rows]


def _to_casman_columns(
    plan: FilePlan, table: str, columns: list[str], rows: list[Row]
) -> list[Row]:
    """Rows in casman's column order: same-named columns, legacy names, or NULL.

    A column casman does not have is dropped when it holds nothing, or when it is a legacy
    name whose value went into its successor; otherwise the file is refused.
    """
    target = column_names(plan.layout.db_name, table)
    legacy = LEGACY_COLUMNS.get(table, {})
    index = {name: position for position, name in enumerate(columns)}
    for extra in columns:
        if extra in target or extra in legacy:
            continue
        values = sum(1 for row in rows if row[index[extra]] not in (None, ""))
        if values:
            raise PlanRefused(
                f"{plan.layout.path}: column {table}.{extra} holds {values} value(s) casman has "
                "no place for; copy them elsewhere and drop the column, then run again"
            )
        plan.note("empty-column", f"{table}.{extra}")
    mapped: list[Row] = []
    for row in rows:
        new = [row[index[name]] if name in index else None for name in target]
        for old_name, new_name in legacy.items():
            if old_name not in index:
                continue
            old_value = row[index[old_name]]
            position = target.index(new_name)
            if new[position] in (None, "") and old_value not in (None, ""):
                plan.note("legacy-date-columns", f"{table}.{new_name}", old_name, old_value)
                new[position] = old_value
            elif old_value not in (None, "", new[position]):
                plan.note("legacy-date-columns", f"{table}.{old_name}", old_value, "superseded")
        mapped.append(new)
    return mapped


def _map_times(plan: FilePlan, table: str, target: list[str], row: Row, zone: Zone) -> None:
    for column in TIME_COLUMNS[table]:
        position = target.index(column)
        before = row[position]
        result = map_time(before, zone)
        if result.rule is not None and result.value != before:
            plan.note(result.rule, f"{table}.{column}", before, result.value)
            row[position] = result.value
        if result.kept is not None:
            plan.keep(result.kept, f"{table}.{column}", before)


def _number(
    plan: FilePlan, where: str, value: object, context: Context
) -> tuple[object, PartFacts | None]:
    """A stored part number and what it says, by ``part-number-spelling``."""
    facts = read_part(value)
    if facts is None:
        if value is not None:
            plan.keep("unknown-part-number", where, value)
        return value, None
    if facts.number in context.clashing_numbers:
        if facts.number != value:
            plan.keep("spelling-clash", where, value)
        return value, facts
    if facts.number != value:
        plan.note("part-number-spelling", where, value, facts.number)
    return facts.number, facts


def _derived(
    plan: FilePlan,
    table: str,
    columns: tuple[str, str],
    row: Row,
    target: list[str],
    facts: PartFacts | None,
) -> None:
    """``part_type``/``polarization`` (or the ``connected_`` pair) from the part number."""
    type_column, polarization_column = columns
    type_at, polarization_at = target.index(type_column), target.index(polarization_column)
    if facts is not None:
        if row[type_at] != facts.part_type.name:
            plan.note(
                "part-type-from-number",
                f"{table}.{type_column}",
                row[type_at],
                facts.part_type.name,
            )
            row[type_at] = facts.part_type.name
        if row[polarization_at] != facts.polarization:
            plan.note(
                "polarization-from-number",
                f"{table}.{polarization_column}",
                row[polarization_at],
                facts.polarization,
            )
            row[polarization_at] = facts.polarization
        return
    before = row[polarization_at]
    digits = polarization_digits(before)
    if digits is not None and digits != before:
        plan.note("polarization-digits", f"{table}.{polarization_column}", before, digits)
        row[polarization_at] = digits
    elif digits is None and before is not None:
        plan.keep("unknown-polarization", f"{table}.{polarization_column}", before)


def clashing_numbers(conn: sqlite3.Connection, layout: Layout) -> frozenset[str]:
    """Canonical part numbers that two different stored spellings in ``parts`` share."""
    if "parts" not in layout.present:
        return frozenset()
    spellings: dict[str, set[str]] = {}
    for (value,) in conn.execute(f"SELECT part_number FROM {layout.schema}.parts"):
        facts = read_part(value)
        if facts is not None:
            spellings.setdefault(facts.number, set()).add(value)
    return frozenset(number for number, seen in spellings.items() if len(seen) > 1)


def _plan_parts(
    plan: FilePlan, table: str, target: list[str], rows: list[Row], context: Context
) -> None:
    number_at = target.index("part_number")
    for row in rows:
        row[number_at], facts = _number(plan, "parts.part_number", row[number_at], context)
        _derived(plan, "parts", ("part_type", "polarization"), row, target, facts)
        _map_times(plan, "parts", target, row, context.zone)


_SIDES = (
    ("part_number", "part_type", "polarization", "scan_time"),
    ("connected_to", "connected_to_type", "connected_polarization", "connected_scan_time"),
)


def _plan_assembly(
    plan: FilePlan, table: str, target: list[str], rows: list[Row], context: Context
) -> None:
    at = {name: target.index(name) for name in target}
    old_order: dict[frozenset[object], tuple[Any, int, object]] = {}
    first_direction: dict[frozenset[object], tuple[object, object]] = {}
    facts_of: list[tuple[PartFacts | None, PartFacts | None]] = []
    for row in rows:
        # the old tool's rule, on the old times: for each pair, its latest row decides
        old_time = row[at["scan_time"]]
        row[at["part_number"]], source = _number(
            plan, "assembly.part_number", row[at["part_number"]], context
        )
        row[at["connected_to"]], target_facts = _number(
            plan, "assembly.connected_to", row[at["connected_to"]], context
        )
        pair = frozenset((row[at["part_number"]], row[at["connected_to"]]))
        key = (_sort_key(old_time), int(row[at["id"]]))
        if pair not in old_order or key > old_order[pair][:2]:
            old_order[pair] = (key[0], key[1], row[at["connection_status"]])
        _derived(plan, "assembly", ("part_type", "polarization"), row, target, source)
        _derived(
            plan,
            "assembly",
            ("connected_to_type", "connected_polarization"),
            row,
            target,
            target_facts,
        )
        _map_times(plan, "assembly", target, row, context.zone)
        new_status, rule = status(row[at["connection_status"]])
        if rule is not None:
            plan.note(rule, "assembly.connection_status", row[at["connection_status"]], new_status)
            row[at["connection_status"]] = new_status
        elif not is_known_status(new_status):
            plan.keep("unknown-status", "assembly.connection_status", new_status)
        reverse = upstream_first(
            type_of(row[at["part_number"]], row[at["part_type"]]),
            type_of(row[at["connected_to"]], row[at["connected_to_type"]]),
        )
        direction = (row[at["part_number"]], row[at["connected_to"]])
        if reverse is None and direction[0] != direction[1]:
            first = first_direction.setdefault(pair, direction)
            if first != direction:
                _swap(row, at)
                plan.note(
                    "pair-direction",
                    "assembly",
                    f"{direction[0]} → {direction[1]}",
                    f"{direction[1]} → {direction[0]}",
                )
                source, target_facts = target_facts, source
        elif reverse:
            _swap(row, at)
            plan.note(
                "chain-direction",
                "assembly",
                f"{direction[0]} → {direction[1]}",
                f"{direction[1]} → {direction[0]}",
            )
            source, target_facts = target_facts, source
        facts_of.append((source, target_facts))
    _report_meaning(plan, rows, at, facts_of, old_order)


def _sort_key(value: object) -> tuple[int, str]:
    """SQLite's order of TEXT-affinity values: NULL first, then text by code point."""
    return (0, "") if value is None else (1, str(value))


def _swap(row: Row, at: dict[str, int]) -> None:
    for one, other in zip(*_SIDES, strict=True):
        row[at[one]], row[at[other]] = row[at[other]], row[at[one]]


def _report_meaning(
    plan: FilePlan,
    rows: list[Row],
    at: dict[str, int],
    facts_of: list[tuple[PartFacts | None, PartFacts | None]],
    old_order: dict[frozenset[object], tuple[Any, int, object]],
) -> None:
    """Rule breaks, repeated connects, and pairs whose state would now read differently."""
    order = sorted(
        range(len(rows)), key=lambda i: (_sort_key(rows[i][at["scan_time"]]), rows[i][at["id"]])
    )
    state: dict[frozenset[object], object] = {}
    for i in order:
        row = rows[i]
        source, target = row[at["part_number"]], row[at["connected_to"]]
        pair = frozenset((source, target))
        now = row[at["connection_status"]]
        if now == "connected" and state.get(pair) == "connected":
            plan.keep("repeated-connect", "assembly", f"{source} → {target} (id {row[at['id']]})")
        state[pair] = now
        source_facts, target_facts = facts_of[i]
        if breaks_rules(source_facts, target_facts, source == target):
            plan.keep("rule-break", "assembly", f"{source} → {target} (id {row[at['id']]})")
    for pair, (_, _, old_status) in old_order.items():
        old_live = status(old_status)[0] == "connected"
        if old_live != (state.get(pair) == "connected"):
            plan.keep("decision-differs", "assembly", " ↔ ".join(sorted(map(str, pair))))


def _plan_positions(
    plan: FilePlan, table: str, target: list[str], rows: list[Row], context: Context
) -> None:
    at = {name: target.index(name) for name in target}
    bases = Counter(antenna_base(row[at["antenna_number"]]) for row in rows)
    codes = Counter(
        facts.code if (facts := read_grid_code(row[at["grid_code"]])) else None for row in rows
    )
    for row in rows:
        before = row[at["antenna_number"]]
        base = antenna_base(before)
        if base is not None and base != before:
            if bases[base] > 1:
                plan.keep("spelling-clash", "antenna_positions.antenna_number", before)
            else:
                plan.note("antenna-number", "antenna_positions.antenna_number", before, base)
                row[at["antenna_number"]] = base
        code_before = row[at["grid_code"]]
        facts = read_grid_code(code_before)
        if facts is None:
            plan.keep("unknown-grid-code", "antenna_positions.grid_code", code_before)
        else:
            if facts.code != code_before:
                if codes[facts.code] > 1:
                    plan.keep("spelling-clash", "antenna_positions.grid_code", code_before)
                    facts = None
                else:
                    plan.note(
                        "grid-code-spelling", "antenna_positions.grid_code", code_before, facts.code
                    )
                    row[at["grid_code"]] = facts.code
            if facts is not None:
                position = facts.position
                wanted = (position.array_id, position.row_offset, position.east_col)
                stored = (row[at["array_id"]], row[at["row_offset"]], row[at["east_col"]])
                if stored != wanted:
                    plan.note(
                        "grid-fields-from-code",
                        "antenna_positions.array_id/row_offset/east_col",
                        stored,
                        wanted,
                    )
                    row[at["array_id"]], row[at["row_offset"]], row[at["east_col"]] = wanted
        _map_times(plan, "antenna_positions", target, row, context.zone)


def _plan_times_only(
    plan: FilePlan, table: str, target: list[str], rows: list[Row], context: Context
) -> None:
    for row in rows:
        _map_times(plan, table, target, row, context.zone)


_PLANNERS = {
    "parts": _plan_parts,
    "assembly": _plan_assembly,
    "antenna_positions": _plan_positions,
}


def plan_file(conn: sqlite3.Connection, layout: Layout, context: Context) -> FilePlan:
    """The plan for one file (``layout`` read from ``conn``): every row, mapped by rule."""
    plan = FilePlan(layout)
    for table in layout.present:
        columns, source = _read_rows(conn, layout, table)
        target = column_names(layout.db_name, table)
        rows = _to_casman_columns(plan, table, columns, source)
        before = [list(row) for row in rows]
        _PLANNERS.get(table, _plan_times_only)(plan, table, target, rows, context)
        exact = table in layout.exact
        if not exact:
            plan.note("table-layout", table)
        plan.tables[table] = TablePlan(
            table, target, rows, len(source), rebuild=not exact or rows != before
        )
    for name in layout.missing:
        plan.note("missing-table", name)
    for name in layout.bookkeeping:
        plan.note("old-bookkeeping", name)
    for name in layout.foreign_indexes:
        plan.note("old-bookkeeping", f"index {name}")
    return plan


def row_counts(plans: Sequence[FilePlan]) -> dict[str, tuple[int, int]]:
    """table → (rows before, rows after): the proof that no row was dropped."""
    return {
        name: (table.source_rows, len(table.rows))
        for plan in plans
        for name, table in plan.tables.items()
    }
