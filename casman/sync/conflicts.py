"""Conflicts and their resolution, read from the local records (works offline).

The conflicts are derived by the fold from the record set (:mod:`casman.sync.fold.conflicts`),
so they are the same at every site holding the same records and stay listed until a record
that settles them exists. ``resolve`` writes such a record: it touches the row (leaving it
as it is now) and so supersedes every concurrent version of it.
"""

from __future__ import annotations

from pathlib import Path

from casman.db import records as record_store
from casman.db.capture import SCHEMAS
from casman.db.changes import Change
from casman.db.connection import open_databases, write_transaction
from casman.db.readonly import open_read_only
from casman.db.schema import PARTS_DB
from casman.domain.record_tables import COLUMNS, TABLES
from casman.errors import CasmanError
from casman.sync.errors import SyncError
from casman.sync.fold import Conflict, fold

_KEY_WHERE = {
    "parts": "part_number = ?",
    "antenna_positions": "antenna_number = ?",
    "snap_boards": "chassis || slot = ?",
    "grid_positions": "grid_code = ?",
}


_cache: dict[str, tuple[int, list[Conflict]]] = {}
"""Per database folder: the newest record's arrival number and the conflicts then. Records
are only ever added, so an unchanged newest number means an unchanged set."""


def local_conflicts(database_dir: Path) -> list[Conflict]:
    """The open conflicts of this site's record set ([] without databases).

    Folding every record costs seconds at 100x; the web asks on every page, so the answer
    is kept until a record arrives."""
    try:
        conn = open_read_only(database_dir)
    except CasmanError:
        return []
    try:
        if not record_store.has_record_tables(conn):
            return []
        newest = conn.execute("SELECT MAX(seq) FROM main.casman_changes").fetchone()[0] or 0
        # the file's identity too: a repaired database is another file
        path = Path(database_dir).resolve()
        key = f"{path}:{(path / PARTS_DB).stat().st_ino}"
        cached = _cache.get(key)
        if cached is not None and cached[0] == newest:
            return list(cached[1])
        found = fold(record_store.all_records(conn)).conflicts
        _cache[key] = (newest, found)
        return list(found)
    finally:
        conn.close()


def resolve(database_dir: Path, ref: str) -> str:
    """Settle the conflict on ``ref`` (``table:key``) keeping the row as it is now."""
    table, _, key = ref.partition(":")
    if table not in TABLES or table == "assembly" or not key:
        raise SyncError(
            f"{ref!r} is not a row reference like antenna_positions:ANT00001 (see "
            "`casman sync conflicts`); a link conflict is settled by `casman assembly disconnect`"
        )
    open_refs = {c.ref for c in local_conflicts(database_dir) if c.kind != "link"}
    if ref not in open_refs:
        raise SyncError(f"there is no open conflict on {ref}; `casman sync conflicts` lists them")
    conn = open_databases(database_dir)
    try:
        with write_transaction(conn, Change(PARTS_DB, "resolve")):
            target = f"{SCHEMAS[table]}.{table}"
            column = COLUMNS[table][0]
            touched = conn.execute(
                f"UPDATE {target} SET {column} = {column} WHERE {_KEY_WHERE[table]}", (key,)
            ).rowcount
            if not touched:
                record_store.note_pending(conn, table, "delete", key)
        row = conn.execute(
            "SELECT id FROM main.casman_changes ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return str(row[0])
