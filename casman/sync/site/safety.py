"""Safety copies: before a database file is replaced or set aside, a copy is kept.

A readable database is snapshotted (WAL content included); an unreadable one is copied byte
for byte with its sidecars. Only the newest ``keep`` copies per database are kept, so the
``safety/`` folder never grows without bound.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

from casman.fileio import fsync_file
from casman.sync.errors import SyncError
from casman.sync.site.snapshots import copy_consistently

SAFETY_DIR = "safety"
SIDECARS = ("-wal", "-shm", "-journal")
DEFAULT_KEEP = 5
_STAMPED = re.compile(r"^(?P<db>.+?)\.(?P<stamp>\d{8}_\d{6})\.")


DAMAGED_CODES = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


def is_readable(path: Path) -> bool:
    """False when ``path`` is missing, not a database or corrupt. An error that says
    nothing about the file itself (a full disk, no permission, a lock) is raised: a
    healthy database must never be set aside as damaged."""
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in DAMAGED_CODES:
            return False
        raise SyncError(
            f"cannot check {path} ({error}); nothing was set aside. Check free space and "
            "permissions, and that no other program holds the database"
        ) from None
    return True


def safety_copy(
    database_dir: Path, db_name: str, stamp: str, reason: str, keep: int = DEFAULT_KEEP
) -> Path | None:
    """Keep the current ``db_name`` under ``safety/``; the copy, or None if there is none."""
    current = database_dir / db_name
    if not current.exists():
        return None
    folder = database_dir / SAFETY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{db_name}.{stamp}.{reason}"
    counter = 1
    while target.exists():
        counter += 1
        target = folder / f"{db_name}.{stamp}.{reason}.{counter}"
    try:
        copy_consistently(current, target)
    except sqlite3.DatabaseError:
        target.unlink(missing_ok=True)
        shutil.copy2(current, target)
        for suffix in SIDECARS:
            sidecar = current.with_name(current.name + suffix)
            if sidecar.exists():
                shutil.copy2(sidecar, target.with_name(target.name + suffix))
    fsync_file(target)
    prune_safety_copies(database_dir, db_name, keep)
    return target


def safety_copies(database_dir: Path, db_name: str) -> list[Path]:
    """The safety copies of ``db_name`` (sidecars excluded), oldest first."""
    folder = database_dir / SAFETY_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _STAMPED.match(path.name)
        if match and match["db"] == db_name and not path.name.endswith(SIDECARS):
            found.append((match["stamp"], path.stat().st_mtime_ns, path))
    return [path for _, _, path in sorted(found)]


def prune_safety_copies(database_dir: Path, db_name: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` safety copies (and their sidecars)."""
    doomed = safety_copies(database_dir, db_name)[: -keep or None] if keep > 0 else []
    for path in doomed:
        for suffix in ("", *SIDECARS):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    return doomed
