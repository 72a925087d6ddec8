"""The "not off-site for N h" warning, checked cheaply after every command.

The sync engine's :func:`casman.sync.offsite.stale_warning` says it exactly, but it opens
``parts.db`` a second time and importing it brings the sync package into every command,
which is what made ``casman parts list`` start twice as slowly as a bare ``import click,
sqlite3``. The answer is nearly always "no": nothing waits, or what waits is younger than
``stale_after_hours``. Both are one indexed read on the connection the command already has
(the records after the newest one published, by their local arrival number, which the
engine keeps in the small ``.casman-offsite.json``), so the CLI asks there, before the
connection closes, and calls on the engine only when the warning is due (for its words)
or when it could not tell.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from casman.config import Config

OFFSITE_FILE = ".casman-offsite.json"
"""The engine's file (``casman.sync.offsite.OFFSITE_FILE``; a test keeps them equal)."""
MAX_FILE_BYTES = 1 << 16
GENESIS_SITE = "genesis"
"""Records of adopted rows (``casman.db.records.GENESIS_SITE``): never waiting."""


def _published_through(database_dir: Path) -> int:
    """The local arrival number up to which every record is off-site (0: none is)."""
    try:
        with (Path(database_dir) / OFFSITE_FILE).open("rb") as handle:
            return int(json.loads(handle.read(MAX_FILE_BYTES))["through_seq"])
    except (OSError, ValueError, TypeError, KeyError):
        return 0


def oldest_waiting(conn: sqlite3.Connection, database_dir: Path) -> datetime | bool | None:
    """When the oldest record not yet off-site was made; None when nothing waits, True
    when it cannot tell (no record tables: the engine knows what that means).

    Reads only the records after the published one, by primary key: the cost does not
    grow with the log.
    """
    from casman.domain.hlc import to_datetime

    through = _published_through(database_dir)
    try:
        row = conn.execute(
            "SELECT MIN(hlc) FROM main.casman_changes WHERE seq > ? AND site != ?",
            (through, GENESIS_SITE),
        ).fetchone()
    except sqlite3.Error:
        return True
    return to_datetime(int(row[0])) if row and row[0] is not None else None


def stale_line(config: Config, now: datetime, oldest: datetime | bool | None = True) -> str | None:
    """The warning line, or None. ``oldest`` is what :func:`oldest_waiting` found (True:
    not asked); the sync engine is imported only when the warning is due or unknown."""
    settings = config.sync
    if not settings.enabled or not settings.stale_after_hours or oldest is None:
        return None
    hours = settings.stale_after_hours
    if isinstance(oldest, datetime) and (now - oldest).total_seconds() / 3600 < hours:
        return None
    from casman.sync.offsite import stale_warning

    return stale_warning(config.database_dir, hours, now)
