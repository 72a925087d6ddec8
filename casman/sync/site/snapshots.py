"""Consistent snapshots of a live database with SQLite's online backup API.

Copying the file itself could catch a half-applied transaction or miss what still sits in
the WAL; the backup API copies a consistent state while other processes keep writing.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from casman.sync.errors import SyncError


def copy_consistently(source: Path, target: Path) -> None:
    """SQLite's online backup API from ``source`` into a new file ``target``, marked as a
    rollback-journal file so that it opens with ``sqlite3`` on read-only media too."""
    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer)
        writer.execute("PRAGMA journal_mode = DELETE")
    finally:
        writer.close()
        reader.close()


def snapshot_bytes(source: Path) -> bytes:
    """A consistent copy of ``source`` (SQLite's online backup API), as bytes."""
    folder = source.parent if os.access(source.parent, os.W_OK) else None
    handle, name = tempfile.mkstemp(prefix=f".{source.name}.", suffix=".snapshot", dir=folder)
    os.close(handle)
    temp = Path(name)
    try:
        copy_consistently(source, temp)
        return temp.read_bytes()
    except sqlite3.DatabaseError as error:
        raise SyncError(f"cannot snapshot {source}: {error}") from None
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(str(temp) + suffix).unlink(missing_ok=True)
