"""Change records: the unit of sync (DESIGN §5, "the change log is the truth").

Every committed change is one immutable record: which rows it wrote (row operations on the
spec's tables, each naming the row by its natural key), the site that made it, a hybrid
logical clock stamp, and which earlier records it supersedes (for every key it touches, the
records that were that key's newest writers when it was made: a disconnect supersedes the
connect it ends, a new assignment the one it replaces). The record's id is the SHA-256 of
its canonical JSON, so the same change has the same id everywhere and a record can be
checked against the name it travels under.

Pure: no I/O. The database layer builds records inside the writing transaction; the sync
engine folds sets of them into tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from casman.domain.record_rules import row_problem
from casman.domain.record_tables import (
    COLUMNS,
    ID_TABLES,
)
from casman.errors import CasmanError

FORMAT = 1
GENESIS_SITE = "genesis"
"""The site of records derived from adopted rows (same rows, same records, everywhere)."""

Action = Literal["insert", "update", "delete"]
ACTIONS: tuple[Action, ...] = ("insert", "update", "delete")
Value = str | int | float | None


class RecordError(CasmanError):
    """A change record that is not well-formed (refused at the door)."""


def natural_key(table: str, row: Mapping[str, Any]) -> str:
    """The key a row is known by at every site (its ``id`` differs between sites)."""
    if table == "parts":
        return str(row["part_number"])
    if table == "assembly":
        return f"{row['part_number']}>{row['connected_to']}"
    if table == "antenna_positions":
        return str(row["antenna_number"])
    if table == "snap_boards":
        return f"{row['chassis']}{row['slot']}"
    if table == "grid_positions":
        return str(row["grid_code"])
    raise RecordError(f"unknown table {table!r}")


@dataclass(frozen=True)
class RowOp:
    """One row written: ``row`` holds every column (``id`` as the writer saw it) for an
    insert or update and is None for a delete; ``key`` is the row's natural key before the
    operation."""

    table: str
    action: Action
    key: str
    row: Mapping[str, Value] | None = None

    @property
    def ref(self) -> str:
        """``table:key``, the name supersedes links and conflicts use."""
        return f"{self.table}:{self.key}"

    def to_json(self) -> list[Any]:
        return [self.table, self.action, self.key, dict(self.row) if self.row is not None else None]


@dataclass(frozen=True)
class ChangeRecord:
    """One committed change. ``id`` is the SHA-256 of :meth:`canonical`."""

    site: str
    hlc: int
    kind: str
    ops: tuple[RowOp, ...]
    supersedes: tuple[str, ...] = ()
    id: str = field(default="", compare=False)

    def canonical(self) -> bytes:
        body = {
            "v": FORMAT,
            "site": self.site,
            "hlc": self.hlc,
            "kind": self.kind,
            "ops": [op.to_json() for op in self.ops],
            "sup": sorted(self.supersedes),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def refs(self) -> frozenset[str]:
        return frozenset(op.ref for op in self.ops)

    @property
    def order(self) -> tuple[int, str, str]:
        """The fold order: stamp, then site, then id (any two records compare)."""
        return (self.hlc, self.site, self.id)


def sealed(record: ChangeRecord) -> ChangeRecord:
    """``record`` with its id computed from its content."""
    digest = hashlib.sha256(record.canonical()).hexdigest()
    return ChangeRecord(
        record.site, record.hlc, record.kind, record.ops, tuple(sorted(record.supersedes)), digest
    )


def _value(value: object, where: str) -> Value:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise RecordError(f"{where}: a boolean is not a column value")
    if isinstance(value, int | float):
        return value
    raise RecordError(f"{where}: {type(value).__name__} is not a column value")


def _row(table: str, raw: object, where: str) -> dict[str, Value]:
    if not isinstance(raw, dict):
        raise RecordError(f"{where}: a row must be an object")
    allowed = set(COLUMNS[table]) | ({"id"} if table in ID_TABLES else set())
    unknown = set(raw) - allowed
    if unknown:
        raise RecordError(f"{where}: unknown column(s) {', '.join(sorted(map(str, unknown)))}")
    missing = set(COLUMNS[table]) - set(raw)
    if missing:
        raise RecordError(f"{where}: missing column(s) {', '.join(sorted(missing))}")
    row = {str(name): _value(value, f"{where}.{name}") for name, value in raw.items()}
    if "id" in row and not (isinstance(row["id"], int) and row["id"] > 0):
        raise RecordError(f"{where}: id must be a positive integer")
    return row


def _op(raw: object, where: str) -> RowOp:
    if not isinstance(raw, list) or len(raw) != 4:
        raise RecordError(f"{where}: an operation is [table, action, key, row]")
    table, action, key, row = raw
    if table not in COLUMNS:
        raise RecordError(f"{where}: unknown table {table!r}")
    if action not in ACTIONS:
        raise RecordError(f"{where}: unknown action {action!r}")
    if not isinstance(key, str) or not key:
        raise RecordError(f"{where}: the key must be a non-empty string")
    if action == "delete":
        if row is not None:
            raise RecordError(f"{where}: a delete carries no row")
        return RowOp(table, "delete", key)
    parsed = _row(table, row, where)
    if action == "insert" and natural_key(table, parsed) != key:
        raise RecordError(f"{where}: the key does not match the row")
    return RowOp(table, action, key, parsed)


def record_from_json(data: object, expected_id: str | None = None) -> ChangeRecord:
    """Parse one record; its id is recomputed and must equal ``expected_id`` if given."""
    if not isinstance(data, dict):
        raise RecordError("a change record must be an object")
    if data.get("v") != FORMAT:
        raise RecordError(f"unknown record format {data.get('v')!r}")
    site, hlc, kind = data.get("site"), data.get("hlc"), data.get("kind")
    if not isinstance(site, str) or not site:
        raise RecordError("a record names its site")
    if not isinstance(hlc, int) or isinstance(hlc, bool) or hlc < 0:
        raise RecordError("a record's stamp is a non-negative integer")
    if not isinstance(kind, str):
        raise RecordError("a record's kind is a string")
    ops_raw, sup_raw = data.get("ops"), data.get("sup")
    if not isinstance(ops_raw, list) or not isinstance(sup_raw, list):
        raise RecordError("a record has a list of operations and a list of superseded ids")
    if not all(isinstance(s, str) and len(s) == 64 for s in sup_raw):
        raise RecordError("superseded ids are SHA-256 hex strings")
    ops = tuple(_op(raw, f"operation {n}") for n, raw in enumerate(ops_raw))
    for n, op in enumerate(ops):
        if op.row is not None:
            problem = row_problem(op.table, op.row, adopted=site == GENESIS_SITE)
            if problem is not None:
                raise RecordError(f"operation {n}: {problem}")
    record = sealed(ChangeRecord(site, hlc, kind, ops, tuple(sup_raw)))
    if expected_id is not None and record.id != expected_id:
        raise RecordError(f"record {expected_id[:12]} does not match its content")
    return record


def parse_record(body: bytes | str, expected_id: str | None = None) -> ChangeRecord:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise RecordError(f"a change record is not JSON ({error})") from None
    return record_from_json(data, expected_id)


def sort_records(records: Sequence[ChangeRecord]) -> list[ChangeRecord]:
    return sorted(records, key=lambda r: r.order)
