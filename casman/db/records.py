"""The change-record table: every committed change is also a record, in the same transaction.

Why here and not in the sync engine: a record must be written by the very transaction that
writes the rows, and every writer goes through :func:`casman.db.connection.write_transaction`
(the database layer may not import the engine). Capture is generic: TEMP triggers (they live
in the connection, never in the file, so the spec's tables keep their exact DDL and a plain
``sqlite3`` sees nothing new but three ``casman_*`` tables) note every row the transaction
inserts, updates or deletes; just before ``COMMIT`` those row operations become one
:class:`~casman.domain.records.ChangeRecord`. The engine turns capture off while it installs
rows that come from records.

Tables, all in ``parts.db``:

* ``casman_changes``: the records (``seq`` is local arrival order; ``body`` the canonical JSON).
* ``casman_heads``: for each ``table:key`` ever written, the records that are its newest
  writers (derived: the fold recomputes it). A new record supersedes the heads of the keys it
  touches; more than one head of a key means two sites changed it concurrently.
* ``casman_meta``: this site's id and the id of the array the database belongs to.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import socket
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime

from casman.db.capture import SCHEMAS
from casman.domain import hlc
from casman.domain.record_tables import COLUMNS, ID_TABLES
from casman.domain.records import (
    GENESIS_SITE,
    ChangeRecord,
    RowOp,
    Value,
    natural_key,
    parse_record,
    sealed,
)
from casman.domain.timestamps import parse_iso, utc_now

GENESIS_ARRAY_PREFIX = "g"
"""Array ids derived from adopted rows start with this (random ids are hex: never ``g``)."""
RECORD_TABLES = ("casman_changes", "casman_heads", "casman_meta")
RECORD_DDL = (
    "CREATE TABLE IF NOT EXISTS main.casman_changes ("
    " seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, site TEXT NOT NULL,"
    " hlc INTEGER NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS main.casman_changes_order ON casman_changes(hlc, site, id)",
    "CREATE TABLE IF NOT EXISTS main.casman_heads ("
    " ref TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (ref, record)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS main.casman_meta ("
    " name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
)
META_SITE = "site"
META_ARRAY = "array"


def ensure_tables(conn: sqlite3.Connection) -> None:
    for statement in RECORD_DDL:
        conn.execute(statement)


def has_record_tables(conn: sqlite3.Connection, schema: str = "main") -> bool:
    row = conn.execute(
        f"SELECT COUNT(*) FROM {schema}.sqlite_master WHERE type='table' AND name IN (?, ?, ?)",
        RECORD_TABLES,
    ).fetchone()
    return bool(row[0] == len(RECORD_TABLES))


# ---------------------------------------------------------------- meta: site and array


def _sanitized(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower()
    return cleaned[:32] or "site"


def new_site_id(name: str | None = None) -> str:
    """A site id: readable (the host name) and unique (a random suffix)."""
    return f"{_sanitized(name or socket.gethostname() or 'site')}-{secrets.token_hex(4)}"


def get_meta(conn: sqlite3.Connection, name: str) -> str | None:
    if not has_record_tables(conn):
        return None
    row = conn.execute("SELECT value FROM main.casman_meta WHERE name = ?", (name,)).fetchone()
    return str(row[0]) if row else None


def set_meta(conn: sqlite3.Connection, name: str, value: str) -> None:
    conn.execute(
        "INSERT INTO main.casman_meta (name, value) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


def site_id(conn: sqlite3.Connection) -> str:
    """This database's site id, created on first use (inside the caller's transaction)."""
    current = get_meta(conn, META_SITE)
    if current is None:
        current = new_site_id()
        set_meta(conn, META_SITE, current)
    return current


# ---------------------------------------------------------------- reading records


def highest_stamp(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(hlc) FROM main.casman_changes").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def record_count(conn: sqlite3.Connection) -> int:
    if not has_record_tables(conn):
        return 0
    return int(conn.execute("SELECT COUNT(*) FROM main.casman_changes").fetchone()[0])


def all_records(conn: sqlite3.Connection) -> list[ChangeRecord]:
    """Every record, in fold order. They were validated when they came in."""
    if not has_record_tables(conn):
        return []
    rows = conn.execute("SELECT id, body FROM main.casman_changes ORDER BY hlc, site, id")
    return [parse_record(body, record_id) for record_id, body in rows]


def records_after(conn: sqlite3.Connection, seq: int) -> tuple[int, list[ChangeRecord]]:
    """The newest local arrival number, and the records that arrived after ``seq``."""
    if not has_record_tables(conn):
        return 0, []
    newest = conn.execute("SELECT MAX(seq) FROM main.casman_changes").fetchone()[0] or 0
    rows = conn.execute(
        "SELECT id, body FROM main.casman_changes WHERE seq > ? AND seq <= ? ORDER BY seq",
        (seq, newest),
    )
    return int(newest), [parse_record(body, record_id) for record_id, body in rows]


def known_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` this database holds (reads only those, by index)."""
    if not has_record_tables(conn):
        return set()
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        found.update(
            row[0]
            for row in conn.execute(
                f"SELECT id FROM main.casman_changes WHERE id IN ({marks})", chunk
            )
        )
    return found


def records_by_id(conn: sqlite3.Connection, ids: Sequence[str]) -> list[ChangeRecord]:
    found: list[ChangeRecord] = []
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        rows = conn.execute(
            f"SELECT id, body FROM main.casman_changes WHERE id IN ({marks})", chunk
        )
        found.extend(parse_record(body, record_id) for record_id, body in rows)
    return found


def advance_heads(conn: sqlite3.Connection, records: Sequence[ChangeRecord]) -> dict[str, set[str]]:
    """Heads after ``records`` (in fold order, all after every stored record): each drops
    the heads it supersedes and becomes one. Returns the heads of the keys touched."""
    touched: dict[str, set[str]] = {}
    for record in records:
        for ref in sorted(record.refs):
            current = touched.get(ref)
            if current is None:
                current = set(_heads_of(conn, [ref]))
            current = (current - set(record.supersedes)) | {record.id}
            touched[ref] = current
    for ref, ids in touched.items():
        conn.execute("DELETE FROM main.casman_heads WHERE ref = ?", (ref,))
        conn.executemany(
            "INSERT INTO main.casman_heads (ref, record) VALUES (?, ?)",
            [(ref, record_id) for record_id in ids],
        )
    return touched


def record_ids(conn: sqlite3.Connection) -> set[str]:
    if not has_record_tables(conn):
        return set()
    return {row[0] for row in conn.execute("SELECT id FROM main.casman_changes")}


def insert_records(conn: sqlite3.Connection, records: Iterable[ChangeRecord]) -> int:
    """Store records that are not stored yet; returns how many were new."""
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO main.casman_changes (id, site, hlc, body) VALUES (?, ?, ?, ?)",
        [(r.id, r.site, r.hlc, r.canonical().decode()) for r in records],
    )
    return conn.total_changes - before


def replace_heads(conn: sqlite3.Connection, heads: dict[str, set[str]]) -> None:
    conn.execute("DELETE FROM main.casman_heads")
    conn.executemany(
        "INSERT INTO main.casman_heads (ref, record) VALUES (?, ?)",
        [(ref, record) for ref, ids in heads.items() for record in ids],
    )


def _note_heads(conn: sqlite3.Connection, record: ChangeRecord) -> None:
    refs = sorted(record.refs)
    conn.executemany("DELETE FROM main.casman_heads WHERE ref = ?", [(ref,) for ref in refs])
    conn.executemany(
        "INSERT INTO main.casman_heads (ref, record) VALUES (?, ?)",
        [(ref, record.id) for ref in refs],
    )


def _heads_of(conn: sqlite3.Connection, refs: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        found.update(
            row[0]
            for row in conn.execute(
                f"SELECT record FROM main.casman_heads WHERE ref IN ({marks})", chunk
            )
        )
    return found


# ---------------------------------------------------------------- sealing a transaction


def begin(conn: sqlite3.Connection) -> None:
    """At the start of a write: record tables exist, and an adopted database has its
    genesis records before anything new is written on top."""
    ensure_tables(conn)
    conn.execute("DELETE FROM temp.casman_pending")
    if conn.execute("SELECT 1 FROM main.casman_changes LIMIT 1").fetchone() is None:
        write_genesis(conn)


def seal(conn: sqlite3.Connection, kind: str, now: datetime | None = None) -> ChangeRecord | None:
    """Turn the rows this transaction wrote into one record (None if it wrote none)."""
    pending = conn.execute(
        "SELECT tbl, action, key, row FROM temp.casman_pending ORDER BY n"
    ).fetchall()
    if not pending:
        return None
    conn.execute("DELETE FROM temp.casman_pending")
    ops = tuple(
        RowOp(tbl, action, key, json.loads(row) if row is not None else None)
        for tbl, action, key, row in pending
    )
    refs = sorted({op.ref for op in ops})
    record = sealed(
        ChangeRecord(
            site=site_id(conn),
            hlc=hlc.next_stamp(now or utc_now(), highest_stamp(conn)),
            kind=kind,
            ops=ops,
            supersedes=tuple(sorted(_heads_of(conn, refs))),
        )
    )
    if get_meta(conn, META_ARRAY) is None:
        set_meta(conn, META_ARRAY, new_array_id())
    insert_records(conn, [record])
    _note_heads(conn, record)
    return record


def new_array_id() -> str:
    return secrets.token_hex(16)


# ---------------------------------------------------------------- genesis


def _stamp_of(text: object) -> int:
    """A genesis stamp from a row's own time (0 when it has none that parses)."""
    if not isinstance(text, str) or not text:
        return 0
    try:
        moment = parse_iso(text.replace(" ", "T"))
    except ValueError:
        return 0
    return max(0, hlc.from_datetime(moment))


_GENESIS_TIME = {
    "parts": "date_created",
    "assembly": "scan_time",
    "antenna_positions": "assigned_at",
    "snap_boards": "date_added",
    "grid_positions": None,
}


def _table_rows(conn: sqlite3.Connection, table: str) -> list[dict[str, Value]]:
    columns = (("id",) if table in ID_TABLES else ()) + COLUMNS[table]
    order = "id" if table in ID_TABLES else "rowid"
    cursor = conn.execute(
        f"SELECT {', '.join(columns)} FROM {SCHEMAS[table]}.{table} ORDER BY {order}"
    )
    return [dict(zip(columns, row, strict=True)) for row in cursor]


def genesis_records(conn: sqlite3.Connection) -> list[ChangeRecord]:
    """Records that explain the rows of a database written without records.

    Deterministic: one record per row, made of the row alone (its time as the stamp, site
    ``genesis``), so two sites that adopt copies of one database derive the same records
    with the same ids and agree. Within one pair of parts, each assembly event supersedes
    the one before it in the log, as the writer's order says.
    """
    records: list[ChangeRecord] = []
    for table in SCHEMAS:
        pair_heads: dict[str, str] = {}
        same_moment: dict[int, int] = {}
        for row in _table_rows(conn, table):
            # a row's id differs between copies that diverged; the fold assigns ids
            row.pop("id", None)
            key = natural_key(table, row)
            time_column = _GENESIS_TIME[table]
            base = _stamp_of(row.get(time_column)) if time_column else 0
            # events of one millisecond keep the log's order through the counter
            counter = same_moment.get(base, 0)
            same_moment[base] = counter + 1
            supersedes = (pair_heads[key],) if table == "assembly" and key in pair_heads else ()
            record = sealed(
                ChangeRecord(
                    site=GENESIS_SITE,
                    hlc=base + counter,
                    kind="adopt",
                    ops=(RowOp(table, "insert", key, row),),
                    supersedes=supersedes,
                )
            )
            pair_heads[key] = record.id
            records.append(record)
    return records


def genesis_array_id(records: Sequence[ChangeRecord]) -> str:
    digest = hashlib.sha256("\n".join(sorted(r.id for r in records)).encode()).hexdigest()
    return f"{GENESIS_ARRAY_PREFIX}{digest[:31]}"


def write_genesis(conn: sqlite3.Connection) -> int:
    """Give an adopted database (rows, no records) its genesis records; returns how many."""
    records = genesis_records(conn)
    if not records:
        return 0
    insert_records(conn, records)
    for record in records:
        _note_heads(conn, record)
    if get_meta(conn, META_ARRAY) is None:
        set_meta(conn, META_ARRAY, genesis_array_id(records))
    return len(records)


def note_pending(conn: sqlite3.Connection, table: str, action: str, key: str) -> None:
    """Note an operation by hand (a resolution of a row that no longer exists: its delete
    changes nothing, so no trigger would fire, yet the record must name the row)."""
    conn.execute(
        "INSERT INTO temp.casman_pending (tbl, action, key, row) VALUES (?, ?, ?, NULL)",
        (table, action, key),
    )
