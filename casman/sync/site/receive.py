"""Taking records in: union with the site's own, fold, install — one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from casman.db import records as record_store
from casman.domain.records import ChangeRecord
from casman.sync.fold import Conflict, fold
from casman.sync.site.tables import install_fold


@dataclass(frozen=True)
class Received:
    """What taking records in did: how many were new, which tables changed, and (when any
    arrived) what clashes the whole set holds now."""

    new: int
    changed_tables: tuple[str, ...]
    conflicts: tuple[Conflict, ...]


def receive(conn: sqlite3.Connection, incoming: Iterable[ChangeRecord]) -> Received:
    """Add ``incoming`` (already verified) to the site's records and refold its tables.

    Runs under ``BEGIN IMMEDIATE``: a scan that commits meanwhile waits, and its record is
    either in the set folded here or made afterwards on top of the new state.
    """
    unique = {r.id: r for r in incoming}
    if not unique:
        return Received(0, (), ())
    conn.execute("BEGIN IMMEDIATE")
    try:
        record_store.ensure_tables(conn)
        known = record_store.known_ids(conn, list(unique))
        new = [r for record_id, r in unique.items() if record_id not in known]
        if not new:
            conn.execute("ROLLBACK")
            return Received(0, (), ())
        if record_store.record_count(conn) == 0:
            record_store.write_genesis(conn)
        result = fold([*record_store.all_records(conn), *new])
        changed = install_fold(conn, new, result)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return Received(len(new), tuple(changed), tuple(result.conflicts))
