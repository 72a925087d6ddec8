"""How much local work is not off-site yet, and since when — cheaply.

After every sync that published everything, the engine notes in ``.casman-offsite.json``
the local arrival number (``seq``) of the newest record then in the database and the time.
Every record with a higher number waits. Reading that small file is all a command needs to
know nothing is stale; only when something may be does it ask the database.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from casman.db import records as record_store
from casman.db.schema import PARTS_DB
from casman.domain import hlc
from casman.fileio import atomic_write_bytes

OFFSITE_FILE = ".casman-offsite.json"
MAX_FILE_BYTES = 1 << 16


@dataclass(frozen=True)
class Offsite:
    """``through_seq``: records up to this local number are off-site (as of ``at``)."""

    through_seq: int = 0
    at: str | None = None
    location: str | None = None


def read_offsite(database_dir: Path) -> Offsite:
    try:
        with (Path(database_dir) / OFFSITE_FILE).open("rb") as handle:
            data = json.loads(handle.read(MAX_FILE_BYTES))
        return Offsite(int(data["through_seq"]), str(data["at"]), str(data.get("location")))
    except (OSError, ValueError, TypeError, KeyError):
        return Offsite()


def note_offsite(database_dir: Path, conn: sqlite3.Connection, at: str, location: str) -> None:
    row = conn.execute("SELECT MAX(seq) FROM main.casman_changes").fetchone()
    body = {"through_seq": int(row[0] or 0), "at": at, "location": location}
    atomic_write_bytes(Path(database_dir) / OFFSITE_FILE, json.dumps(body).encode())


@dataclass(frozen=True)
class Pending:
    count: int
    oldest: datetime | None
    last_offsite: str | None


def pending(database_dir: Path) -> Pending:
    """Records made here after the last complete publish (records received from other
    sites came from the store: they are off-site already, even when only fetched)."""
    offsite = read_offsite(database_dir)
    path = Path(database_dir) / PARTS_DB
    if not path.is_file():
        return Pending(0, None, offsite.at)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        here = record_store.get_meta(conn, record_store.META_SITE)
        if here is None:  # no change was ever made here
            return Pending(0, None, offsite.at)
        count, oldest = conn.execute(
            "SELECT COUNT(*), MIN(hlc) FROM main.casman_changes WHERE seq > ? AND site = ?",
            (offsite.through_seq, here),
        ).fetchone()
    except sqlite3.Error:
        return Pending(0, None, offsite.at)
    finally:
        conn.close()
    return Pending(int(count), hlc.to_datetime(int(oldest)) if oldest else None, offsite.at)


def stale_warning(database_dir: Path, stale_after_hours: float, now: datetime) -> str | None:
    """One line when changes have waited longer than ``stale_after_hours`` to go off-site."""
    waiting = pending(database_dir)
    if not waiting.count or waiting.oldest is None:
        return None
    hours = (now - waiting.oldest).total_seconds() / 3600
    if hours < stale_after_hours:
        return None
    return (
        f"Warning: {waiting.count} change(s) made here have not been off-site for "
        f"{hours:.0f} h; run `casman sync sync` (or check the link)"
    )


def newest_stamp(database_dir: Path) -> int:
    """The newest record's stamp (0 without records); one indexed read."""
    path = Path(database_dir) / PARTS_DB
    if not path.is_file():
        return 0
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        if not record_store.has_record_tables(conn):
            return 0
        return record_store.highest_stamp(conn)
    except sqlite3.Error:
        return 0
    finally:
        conn.close()
