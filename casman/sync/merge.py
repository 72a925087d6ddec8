"""Three-way, domain-aware merge of two diverged copies of one casman database.

When two sites worked offline from the same published version (the common *base*), sync
finds the copies diverged (DESIGN.md §5, "Several sites, one truth"). Neither copy may hide
the other's work, so this module builds a third database holding both:

* ``assembled_casm.db``: the union of the base's events and of the events each side
  appended since, an event both sides hold kept once, renumbered by ``(scan_time,
  side-independent tiebreak)``; then rule 3 (one active link in and out per part) is
  re-checked on the merged state and every break is reported as a ``connection`` conflict
  naming both links, with both events left in the log (see :mod:`casman.sync.merge_assembly`).
* ``parts.db``: parts are a union by part number (one number created at both sites with
  different rows keeps the earlier-created row, tie: the local one); antenna positions, SNAP
  boards and grid positions are merged three-way per natural key (see
  :mod:`casman.sync.merge_tables`).

**Which side wins a conflict.** When both sites changed the same position, board or grid
row differently, or their rows clash on a UNIQUE value, the merge keeps the **remote** side's
row: the remote copy is the published version other sites may already have pulled, so
keeping it never takes back something the array has seen, while the local technician, who is
the one running the merge, gets the displaced row in the report with the command that
re-applies it. Parts are the exception: for a part number created twice the earlier row is
kept, whichever side made it. Every displaced row is a :class:`Conflict` in the report;
nothing is dropped silently.

The merge only reads its inputs (opened read-only and ``immutable``: they are downloads or
snapshots no one writes) and writes a new file in one transaction; it prints nothing and
raises :class:`MergeError` for anything that stops it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

from casman.db.schema import ASSEMBLY_DB, INDEXES, SCHEMA_VERSION, TABLES
from casman.db.schema_check import column_names, open_private_read_only
from casman.fileio import fsync_file
from casman.sync.merge_assembly import merge_assembly
from casman.sync.merge_common import Conflict, MergedContent, MergeError, MergeReport, Row
from casman.sync.merge_tables import merge_parts_database

__all__ = ["Conflict", "MergeError", "MergeReport", "merge_databases"]

Tables = dict[str, list[Row]]


def _read(path: Path, db_name: str, role: str) -> Tables:
    """Every row of casman's tables in ``path``, ``id`` first, in the order the domain reads
    them (the log by ``(scan_time, id)``). A table the file lacks reads as empty (an older
    ``parts.db`` may have no ``grid_positions``)."""
    try:
        conn = open_private_read_only(path)
    except sqlite3.Error as error:
        raise MergeError(f"cannot open the {role} copy {path} for the merge: {error}") from None
    try:
        present = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        tables: Tables = {}
        for table in TABLES[db_name]:
            columns = column_names(db_name, table)
            if table not in present:
                tables[table] = []
                continue
            order = "scan_time, id" if table == "assembly" else columns[0]
            tables[table] = conn.execute(
                f'SELECT {", ".join(columns)} FROM "{table}" ORDER BY {order}'
            ).fetchall()
        return tables
    except sqlite3.Error as error:
        raise MergeError(f"cannot read the {role} copy {path} for the merge: {error}") from None
    finally:
        conn.close()


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-journal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _write(output: Path, db_name: str, tables: Mapping[str, Sequence[Row]]) -> None:
    """Create ``output`` (which must not exist) with casman's exact schema and ``tables``'
    rows, all in one transaction, in rollback-journal mode like a snapshot."""
    try:
        descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise MergeError(f"{output} already exists; the merge writes only a new file") from None
    except OSError as error:
        raise MergeError(f"cannot create {output}: {error}") from None
    os.close(descriptor)
    try:
        conn = sqlite3.connect(output, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = DELETE")
            conn.execute("BEGIN IMMEDIATE")
            for ddl in TABLES[db_name].values():
                conn.execute(ddl)
            for ddl in INDEXES[db_name]:
                conn.execute(ddl)
            for table, rows in tables.items():
                columns = column_names(db_name, table)
                marks = ", ".join("?" for _ in columns)
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        finally:
            conn.close()
        fsync_file(output)
    except sqlite3.Error as error:
        _remove(output)
        raise MergeError(f"cannot write the merged {db_name} to {output}: {error}") from None
    except BaseException:
        _remove(output)
        raise


def merge_databases(
    db_name: str, base: Path | None, local: Path, remote: Path, output: Path
) -> MergeReport:
    """Merge ``local`` and ``remote`` over their common ``base`` into the new file ``output``.

    ``base``, ``local`` and ``remote`` must already have passed
    :func:`casman.db.schema_check.check_candidate`; ``base`` None means the common base is
    unknown and is taken as empty, so every difference counts as added on both sides.
    Returns how many rows/events each side changed since the base and every conflict.
    """
    if db_name not in TABLES:
        raise MergeError(f"unknown database {db_name!r}; expected one of {', '.join(TABLES)}")
    empty: Tables = {table: [] for table in TABLES[db_name]}
    base_rows = _read(base, db_name, "base") if base is not None else empty
    local_rows = _read(local, db_name, "local")
    remote_rows = _read(remote, db_name, "remote")
    merged: MergedContent
    if db_name == ASSEMBLY_DB:
        merged = merge_assembly(
            base_rows["assembly"], local_rows["assembly"], remote_rows["assembly"]
        )
    else:
        merged = merge_parts_database(base_rows, local_rows, remote_rows)
    _write(output, db_name, merged.tables)
    return MergeReport(
        database=db_name,
        local_changes=merged.local_changes,
        remote_changes=merged.remote_changes,
        conflicts=merged.conflicts,
    )
