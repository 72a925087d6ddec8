"""What this site knows of each store it syncs with, in ``.casman-sync.db`` beside the
databases (a plain SQLite file; never part of a checkpoint, since it describes this site).

Keyed by the store's *location* (backend and where: a directory, a bucket and endpoint, a
URL), never by the backend's name: two ``local`` directories are two stores. Per store:
the array it holds, the newest segment number this site saw for each site (a smaller one
later means the store was rolled back), this site's own newest segment, which records are
known to be in the store, and which segments were already read. The file also notes the
database it describes (site id, number of records): a database set aside and rebuilt,
deleted, or replaced by an older copy makes everything else here untrue, and forgotten.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from casman.storage.operations import Storage

STATE_FILE = ".casman-sync.db"
LOCATION_OPTIONS = ("path", "url", "bucket", "bucket_name", "account_id", "endpoint")
NOT_LOCATION = frozenset(
    {"region", "access_key_id", "session_token", "options", "quota"}
    | {"connect_timeout", "read_timeout", "max_attempts"}
)
"""Options of the built-in backends that say how to reach a store, not which store it is.
Any other option that is not secret (a third-party backend's ``namespace``, ``container``
…) is part of the location: two values are two stores."""
_DDL = (
    "CREATE TABLE IF NOT EXISTS stores (location TEXT PRIMARY KEY, array_id TEXT,"
    " tips TEXT NOT NULL DEFAULT '{}', own_key TEXT, own_seq INTEGER NOT NULL DEFAULT 0,"
    " last_contact TEXT, published_seq INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS published (location TEXT NOT NULL, record TEXT NOT NULL,"
    " PRIMARY KEY (location, record)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS segments_read (location TEXT NOT NULL, key TEXT NOT NULL,"
    " PRIMARY KEY (location, key)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS bound (name TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID",
)


def store_location(storage: Storage) -> str:
    """``backend:where`` — what makes a store this store."""
    from pathlib import Path as _Path

    settings = storage.handle.settings
    others = sorted(
        option.name
        for option in storage.handle.spec.options
        if not option.secret and option.name not in (*LOCATION_OPTIONS, *NOT_LOCATION)
    )
    parts = []
    for name in (*LOCATION_OPTIONS, *others):
        value = settings.get(name)
        if value:
            text = str(value)
            if name == "path":
                text = str(_Path(text).expanduser().resolve())
            parts.append(f"{name}={text}")
    return f"{storage.name}:{';'.join(parts)}"


@dataclass
class StoreState:
    location: str
    array_id: str | None = None
    tips: dict[str, int] = field(default_factory=dict)
    own_key: str | None = None
    own_seq: int = 0
    last_contact: str | None = None
    published_seq: int = 0
    """Every local record up to this arrival number is known to be in the store."""

    @property
    def known(self) -> bool:
        """True once this site has published to or read from the store."""
        return self.array_id is not None


class SiteState:
    """The state file; every write is one short transaction."""

    def __init__(self, database_dir: Path) -> None:
        self.path = Path(database_dir) / STATE_FILE

    @contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            for statement in _DDL:
                conn.execute(statement)
            yield conn
        finally:
            conn.close()

    def load(self, location: str) -> StoreState:
        if not self.path.exists():
            return StoreState(location)
        with self._open() as conn:
            row = conn.execute(
                "SELECT array_id, tips, own_key, own_seq, last_contact, published_seq FROM stores"
                " WHERE location = ?",
                (location,),
            ).fetchone()
        if row is None:
            return StoreState(location)
        return StoreState(
            location, row[0], json.loads(row[1]), row[2], int(row[3]), row[4], int(row[5])
        )

    def save(self, state: StoreState) -> None:
        with self._open() as conn:
            conn.execute(
                "INSERT INTO stores (location, array_id, tips, own_key, own_seq, last_contact,"
                " published_seq) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(location) DO UPDATE"
                " SET array_id = excluded.array_id, tips = excluded.tips,"
                " own_key = excluded.own_key, own_seq = excluded.own_seq,"
                " last_contact = excluded.last_contact, published_seq = excluded.published_seq",
                (
                    state.location,
                    state.array_id,
                    json.dumps(state.tips, sort_keys=True),
                    state.own_key,
                    state.own_seq,
                    state.last_contact,
                    state.published_seq,
                ),
            )

    def published(self, location: str) -> set[str]:
        if not self.path.exists():
            return set()
        with self._open() as conn:
            rows = conn.execute("SELECT record FROM published WHERE location = ?", (location,))
            return {row[0] for row in rows}

    def mark_published(self, location: str, record_ids: Iterable[str]) -> None:
        with self._open() as conn:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT OR IGNORE INTO published (location, record) VALUES (?, ?)",
                [(location, r) for r in record_ids],
            )
            conn.execute("COMMIT")

    def segments_read(self, location: str) -> set[str]:
        if not self.path.exists():
            return set()
        with self._open() as conn:
            rows = conn.execute("SELECT key FROM segments_read WHERE location = ?", (location,))
            return {row[0] for row in rows}

    def mark_read(self, location: str, keys: Iterable[str]) -> None:
        with self._open() as conn:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT OR IGNORE INTO segments_read (location, key) VALUES (?, ?)",
                [(location, k) for k in keys],
            )
            conn.execute("COMMIT")

    def forget_store(self, location: str) -> None:
        """After a rollback or a wipe: nothing is assumed to be in the store any more.

        The watermark, this site's newest segment and the tips go in the same transaction:
        a process killed right after must not find "published up to N" beside an empty
        set of published records (it would never send them again)."""
        with self._open() as conn:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM published WHERE location = ?", (location,))
            conn.execute("DELETE FROM segments_read WHERE location = ?", (location,))
            conn.execute(
                "UPDATE stores SET published_seq = 0, own_key = NULL, tips = '{}'"
                " WHERE location = ?",
                (location,),
            )
            conn.execute("COMMIT")

    def binding(self) -> tuple[str | None, int] | None:
        """The database this state was written with: its site id and how many records it
        held (its highest local ``seq``); None before the first complete sync."""
        if not self.path.exists():
            return None
        with self._open() as conn:
            rows = dict(conn.execute("SELECT name, value FROM bound").fetchall())
        if "seq" not in rows:
            return None
        return rows.get("site"), int(rows["seq"])

    def bind(self, site: str | None, seq: int) -> None:
        with self._open() as conn:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM bound")
            conn.executemany(
                "INSERT INTO bound (name, value) VALUES (?, ?)", [("site", site), ("seq", seq)]
            )
            conn.execute("COMMIT")

    def forget_everything(self) -> None:
        """The database was replaced (repaired, lost, an older copy put back): nothing this
        file remembers about what was read or published is true of the new one."""
        with self._open() as conn:
            conn.execute("BEGIN")
            for table in ("published", "segments_read", "bound"):
                conn.execute(f"DELETE FROM {table}")
            # which array each store holds stays known: an empty store is still "not
            # mounted or wiped", never a new array for the rebuilt database
            conn.execute(
                "UPDATE stores SET tips = '{}', own_key = NULL, own_seq = 0, published_seq = 0"
            )
            conn.execute("COMMIT")

    def published_anywhere(self) -> set[str]:
        """Records published to at least one store (for "not yet off-site" counts)."""
        if not self.path.exists():
            return set()
        with self._open() as conn:
            return {row[0] for row in conn.execute("SELECT DISTINCT record FROM published")}
