"""Putting a verified database file in place of the current one, safely.

The current database is first copied aside (a consistent snapshot when it is readable, the
raw bytes otherwise), then the verified file replaces it by an atomic rename, and the old
``-wal``/``-shm``/``-journal`` files are moved aside so SQLite never replays an old WAL
onto the new file.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from casman.fileio import fsync_directory, fsync_file
from casman.sync.snapshot import SnapshotError, take_snapshot

SAFETY_DIR = "safety"
SIDECARS = ("-wal", "-shm", "-journal")


def safety_copy(database_dir: Path, db_name: str, stamp: str, reason: str) -> Path | None:
    """Keep the current database under ``safety/``; returns the copy (None if no database).

    A readable database is snapshotted (WAL content included); an unreadable one is copied
    byte for byte with its sidecars, so nothing is ever lost by a restore.
    """
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
        take_snapshot(current, target)
    except SnapshotError:
        if target.exists():
            target.unlink()
        shutil.copy2(current, target)
        for suffix in SIDECARS:
            sidecar = current.with_name(current.name + suffix)
            if sidecar.exists():
                shutil.copy2(sidecar, target.with_name(target.name + suffix))
        fsync_file(target)
    return target


def is_readable(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
    return True


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the file (already kept in the safety copy) before replacing it."""
    if not is_readable(path):
        return
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def install(verified: Path, database_dir: Path, db_name: str, stamp: str) -> None:
    """Atomically replace ``database_dir/db_name`` by ``verified`` (same directory)."""
    current = database_dir / db_name
    fsync_file(verified)
    if current.exists():
        _checkpoint(current)
    aside = database_dir / SAFETY_DIR
    for suffix in SIDECARS:
        sidecar = current.with_name(current.name + suffix)
        if sidecar.exists():
            aside.mkdir(parents=True, exist_ok=True)
            sidecar.replace(aside / f"{db_name}{suffix}.{stamp}.stale")
    verified.replace(current)
    fsync_directory(database_dir)
