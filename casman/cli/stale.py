"""The "not off-site for N h" warning, checked cheaply after every command.

The sync engine's :func:`casman.sync.offsite.stale_warning` says it exactly, but it opens
``parts.db`` a second time and importing it brings the sync package into every command,
which is what made ``casman parts list`` start twice as slowly as a bare ``import click,
sqlite3``. The answer is nearly always "nothing waits": every record this site holds was
published. That is one indexed read on the connection the command already has, against
the small ``.casman-offsite.json`` the engine keeps (the local arrival number of the newest
record published), so the CLI asks it there, before the connection closes, and calls on
the engine only when something may wait or it could not tell.
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


def anything_waits(conn: sqlite3.Connection, database_dir: Path) -> bool | None:
    """Whether a record made or received here is not off-site yet; None if unknown.

    Reads the records after the published one by their primary key, so it costs the
    same whatever the size of the log.
    """
    through = _published_through(database_dir)
    try:
        row = conn.execute(
            "SELECT 1 FROM main.casman_changes WHERE seq > ? AND site != ? LIMIT 1",
            (through, GENESIS_SITE),
        ).fetchone()
    except sqlite3.Error:
        return None  # no record tables (yet): the engine knows what that means
    return row is not None


def stale_line(config: Config, now: datetime, waits: bool | None) -> str | None:
    """The warning line, or None; the sync engine is imported only when something waits."""
    settings = config.sync
    if not settings.enabled or not settings.stale_after_hours or waits is False:
        return None
    from casman.sync.offsite import stale_warning

    return stale_warning(config.database_dir, settings.stale_after_hours, now)
