"""``casman sync restore``: two meanings, kept apart (DESIGN §5).

* **Going back** to a moment: the fold of the records stamped up to then. Written to a new
  pair of files (``--output``), which touches nothing live; or applied to the array as one
  *revert* record that every site receives, so the next sync cannot silently undo it.
  Going back never deletes parts: their labels exist, and their numbers stay taken.
* **Repair**: a damaged or missing local database is set aside (a safety copy is kept) and
  rebuilt from the store's records. Nothing is lost; no other site is affected.

Any moment covered by the records is restorable; :func:`moments` lists them.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from casman.db import records as record_store
from casman.db.capture import SCHEMAS
from casman.db.changes import Change
from casman.db.connection import open_databases, write_transaction
from casman.db.schema import ASSEMBLY_DB, DATABASE_NAMES, PARTS_DB
from casman.domain import hlc
from casman.domain.record_tables import COLUMNS, ID_TABLES
from casman.domain.records import ChangeRecord
from casman.domain.timestamps import now_iso
from casman.sync.errors import SyncError
from casman.sync.fold import fold
from casman.sync.fold.apply import Row
from casman.sync.site.receive import receive
from casman.sync.site.safety import is_readable, safety_copy
from casman.sync.site.tables import install_fold, live_tables


@dataclass(frozen=True)
class Moment:
    """One restorable moment: a record's time, what it was, where it was made."""

    at: datetime
    kind: str
    site: str
    record: str


def _records(database_dir: Path) -> list[ChangeRecord]:
    conn = open_databases(database_dir, create=False)
    try:
        return record_store.all_records(conn)
    finally:
        conn.close()


def up_to(records: Sequence[ChangeRecord], moment: datetime) -> list[ChangeRecord]:
    """The records stamped at or before ``moment`` (to the millisecond)."""
    limit = hlc.from_datetime(moment) | ((1 << hlc.COUNTER_BITS) - 1)
    return [r for r in records if r.hlc <= limit]


def moments(database_dir: Path) -> list[Moment]:
    return [Moment(hlc.to_datetime(r.hlc), r.kind, r.site, r.id) for r in _records(database_dir)]


@dataclass(frozen=True)
class OutputResult:
    folder: Path
    records: int
    conflicts: int


def restore_to_folder(database_dir: Path, moment: datetime, folder: Path) -> OutputResult:
    """Write the state at ``moment`` as a new pair of databases in ``folder``."""
    for name in DATABASE_NAMES:
        if (folder / name).exists():
            raise SyncError(f"{folder / name} exists; choose an empty folder for --output")
    wanted = up_to(_records(database_dir), moment)
    if not wanted:
        raise SyncError(f"no change is recorded at or before {moment:%Y-%m-%d %H:%M:%S}Z")
    made_folder = not folder.exists()
    try:
        conn = open_databases(folder)
        try:
            received = receive(conn, wanted)
        finally:
            conn.close()
    except BaseException:
        # a full disk or an interruption leaves no half-written pair behind to trip the
        # next attempt ("exists; choose an empty folder")
        for name in DATABASE_NAMES:
            _remove(folder / name)
        if made_folder:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return OutputResult(folder, received.new, len(received.conflicts))


def _key_rows(rows: list[Row], table: str) -> dict[str, Row]:
    from casman.domain.records import natural_key

    return {natural_key(table, row): row for row in rows}


def _without_id(row: Row) -> Row:
    return {k: v for k, v in row.items() if k != "id"}


def _live_pairs(log: list[Row]) -> dict[tuple[object, object], Row]:
    newest: dict[tuple[object, object], Row] = {}
    for event in log:
        newest[(event["part_number"], event["connected_to"])] = event
    return {pair: e for pair, e in newest.items() if e["connection_status"] == "connected"}


@dataclass(frozen=True)
class RevertResult:
    record: str | None
    changed_rows: int


def revert_to(database_dir: Path, moment: datetime) -> RevertResult:
    """Make the array's state what it was at ``moment``, as one new record (parts kept)."""
    records = _records(database_dir)
    wanted = up_to(records, moment)
    if not wanted:
        raise SyncError(f"no change is recorded at or before {moment:%Y-%m-%d %H:%M:%S}Z")
    target = fold(wanted).tables
    conn = open_databases(database_dir)
    changed = 0
    try:
        with write_transaction(conn, Change(PARTS_DB, "revert")):
            current = live_tables(conn)
            for table in ("antenna_positions", "snap_boards", "grid_positions"):
                changed += _revert_table(conn, table, current[table], target.ordered(table))
            changed += _revert_links(conn, current["assembly"], target.log)
        row = conn.execute(
            "SELECT id FROM main.casman_changes ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return RevertResult(str(row[0]) if changed and row else None, changed)


def _revert_table(
    conn: sqlite3.Connection, table: str, now_rows: list[Row], then_rows: list[Row]
) -> int:
    now, then = _key_rows(now_rows, table), _key_rows(then_rows, table)
    target = f"{SCHEMAS[table]}.{table}"
    key_column = {"antenna_positions": "antenna_number", "grid_positions": "grid_code"}
    changed = 0
    for key, row in now.items():
        if key not in then or _without_id(then[key]) != _without_id(row):
            if table in ID_TABLES:
                conn.execute(f"DELETE FROM {target} WHERE id = ?", (row["id"],))
            else:
                conn.execute(
                    f"DELETE FROM {target} WHERE {key_column[table]} = ?", (row[key_column[table]],)
                )
            changed += 1
    for key, row in then.items():
        if key not in now or _without_id(now[key]) != _without_id(row):
            columns = COLUMNS[table]
            marks = ", ".join("?" for _ in columns)
            conn.execute(
                f"INSERT INTO {target} ({', '.join(columns)}) VALUES ({marks})",
                tuple(row[c] for c in columns),
            )
            changed += key not in now  # a changed row was counted at its delete
    return changed


def _revert_links(conn: sqlite3.Connection, now_log: list[Row], then_log: list[Row]) -> int:
    now, then = _live_pairs(now_log), _live_pairs(then_log)
    stamp = now_iso()
    changed = 0
    columns = COLUMNS["assembly"]
    marks = ", ".join("?" for _ in columns)
    for _pair, event in [(p, e) for p, e in now.items() if p not in then]:
        row = {
            **event,
            "connection_status": "disconnected",
            "scan_time": stamp,
            "connected_scan_time": stamp,
        }
        conn.execute(
            f"INSERT INTO asm.assembly ({', '.join(columns)}) VALUES ({marks})",
            tuple(row[c] for c in columns),
        )
        changed += 1
    for _pair, event in [(p, e) for p, e in then.items() if p not in now]:
        row = {**event, "scan_time": stamp, "connected_scan_time": stamp}
        conn.execute(
            f"INSERT INTO asm.assembly ({', '.join(columns)}) VALUES ({marks})",
            tuple(row[c] for c in columns),
        )
        changed += 1
    return changed


@dataclass(frozen=True)
class RepairPlan:
    """Which local files were damaged and set aside (``set_aside``), and which readable
    ones were set aside only because they are rebuilt with them (``replaced``); a safety
    copy of each is kept."""

    set_aside: dict[str, Path | None]
    replaced: dict[str, Path | None] = field(default_factory=dict)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def set_aside_damaged(database_dir: Path, keep: int) -> RepairPlan:
    """Move damaged database files out of the way (a safety copy of each is kept), and
    rebuild here what the local records can rebuild.

    ``parts.db`` holds the records. When it is damaged or lost, ``assembled_casm.db`` (rows
    derived from those records) is set aside too: left in place, its rows would be adopted
    as the history of a new, unrelated array. Both are then rebuilt from the store. When
    only ``assembled_casm.db`` is damaged, the records here rebuild it at once, offline too.
    """
    stamp = now_iso().replace("-", "").replace(":", "").replace("T", "_").rstrip("Z")
    aside: dict[str, Path | None] = {}
    replaced: dict[str, Path | None] = {}
    for name in DATABASE_NAMES:
        path = database_dir / name
        if path.exists() and not is_readable(path):
            aside[name] = safety_copy(database_dir, name, stamp, "damaged", keep)
            _remove(path)
    assembled = database_dir / ASSEMBLY_DB
    if not (database_dir / PARTS_DB).exists() and assembled.exists():
        replaced[ASSEMBLY_DB] = safety_copy(database_dir, ASSEMBLY_DB, stamp, "rebuilt", keep)
        _remove(assembled)
    elif ASSEMBLY_DB in aside:
        _refold(database_dir)
    return RepairPlan(aside, replaced)


def _refold(database_dir: Path) -> None:
    """Make the tables what this site's records say (a rebuilt ``assembled_casm.db``)."""
    conn = open_databases(database_dir)
    try:
        if not record_store.record_count(conn):
            return  # rows without records (never written since 0.x): nothing to rebuild from
        conn.execute("BEGIN IMMEDIATE")
        try:
            install_fold(conn, [], fold(record_store.all_records(conn)))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
