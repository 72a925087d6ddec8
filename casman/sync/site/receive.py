"""Taking records in: union with the site's own, fold, install — one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from casman.db import capture
from casman.db import records as record_store
from casman.domain.records import ChangeRecord, natural_key, sort_records
from casman.sync.fold import Conflict, fold
from casman.sync.fold.apply import FoldResult, Skipped
from casman.sync.fold.conflicts import find_conflicts
from casman.sync.site.tables import install_fold, load_tables, write_touched


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
        if _all_after(conn, new):
            changed, conflicts = _append(conn, new)
        else:
            result = fold([*record_store.all_records(conn), *new])
            changed, conflicts = install_fold(conn, new, result), result.conflicts
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return Received(len(new), tuple(changed), tuple(conflicts))


def _all_after(conn: sqlite3.Connection, new: list[ChangeRecord]) -> bool:
    """Whether every new record folds after every record the site has (the common case:
    a site receiving newer work of others while it made no concurrent change)."""
    newest = conn.execute(
        "SELECT hlc, site, id FROM main.casman_changes ORDER BY hlc DESC, site DESC, id DESC"
        " LIMIT 1"
    ).fetchone()
    return newest is None or min(r.order for r in new) > tuple(newest)


def _append(conn: sqlite3.Connection, new: list[ChangeRecord]) -> tuple[list[str], list[Conflict]]:
    """Apply records that all fold after the site's own onto the live tables: the same
    operations as the fold (:meth:`Tables.apply`), starting from the live state instead
    of from nothing, and only the rows they touch are written — the cost follows the
    change, not the database. Reads every row once, never a record."""
    tables = load_tables(conn)
    log_from = len(tables.log) + 1
    touched: dict[str, set[str]] = {}
    skipped: list[Skipped] = []
    for record in sort_records(new):
        for op in record.ops:
            reason = tables.apply(op)
            if reason is not None:
                skipped.append(Skipped(record.id, op.ref, reason))
            keys = touched.setdefault(op.table, set())
            keys.add(op.key)
            if op.row is not None and op.table != "assembly":
                keys.add(natural_key(op.table, op.row))
    record_store.insert_records(conn, new)
    capture.set_capture(conn, False)
    try:
        changed = write_touched(conn, tables, touched, log_from)
        heads = record_store.advance_heads(conn, sort_records(new))
    finally:
        capture.set_capture(conn, True)
    known = {r.id: r for r in new}
    others = [i for ids in heads.values() for i in ids if i not in known]
    known.update({r.id: r for r in record_store.records_by_id(conn, others)})
    partial = FoldResult(tables, list(known.values()), skipped, heads)
    return changed, list(find_conflicts(partial))
