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
    """What taking records in did: how many were new, which tables changed, what clashes
    the whole set holds now."""

    new: int
    changed_tables: tuple[str, ...]
    conflicts: tuple[Conflict, ...]


def receive(conn: sqlite3.Connection, incoming: Iterable[ChangeRecord]) -> Received:
    """Add ``incoming`` (already verified) to the site's records and refold its tables.

    Runs under ``BEGIN IMMEDIATE``: a scan that commits meanwhile waits, and its record is
    either in the set folded here or made afterwards on top of the new state.
    """
    incoming = list(incoming)
    conn.execute("BEGIN IMMEDIATE")
    try:
        record_store.ensure_tables(conn)
        known = record_store.record_ids(conn)
        new = [r for r in {r.id: r for r in incoming}.values() if r.id not in known]
        if not new and known:
            conn.execute("ROLLBACK")
            result = fold(record_store.all_records(conn))
            return Received(0, (), tuple(result.conflicts))
        if not known:
            record_store.write_genesis(conn)
        result = fold([*record_store.all_records(conn), *new])
        changed = install_fold(conn, new, result)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return Received(len(new), tuple(changed), tuple(result.conflicts))
