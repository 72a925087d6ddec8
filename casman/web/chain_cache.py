"""One :class:`~casman.db.chains.ChainIndex` per database state, for the whole-array views.

Listing page 37 of every chain, or counting the complete ones, is a question about the
whole log: at 100× the full build-out its exact answer takes one scan, sort and walk of
~50,000 events (a quarter of a second on a small machine; even a bare ``GROUP BY`` over the
log takes most of the 100 ms a page may take). So the app keeps the answer and recomputes
it only when the databases changed.

How the kept index can never disagree with the log. It is keyed by SQLite's own change
counter, ``PRAGMA data_version``, read from one idle read-only connection per app (the
*watcher*): the value changes whenever any other connection — a scan, a restore's row copy,
a merge, the ``sqlite3`` shell — commits to that file, and nothing else changes it. The key
also holds each file's device, inode, size and modification time, so a file replaced by
rename (the restore of a damaged database) or rewritten behind SQLite's back is noticed
too. The key is read *before* the index is built (from one snapshot, in a read
transaction), so a commit that lands in between only makes the next request rebuild. The
index is derived data in memory; the log stays the only thing stored.

The watcher never reads a table and never opens a transaction between requests, so it
takes no lock a technician's scan could wait on and holds no snapshot back; every request
still reads through its own connection and sees every committed scan.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from casman.db.chains import ChainIndex, chain_index, read_snapshot
from casman.db.connection import DatabaseFileError
from casman.db.readonly import open_read_only
from casman.db.schema import ASSEMBLY_DB, PARTS_DB

FileIdentity = tuple[tuple[int, int, int, int], ...]
"""(device, inode, size, mtime_ns) of parts.db and assembled_casm.db."""
Key = tuple[object, ...]


class ChainIndexCache:
    """The chain index of one database directory, rebuilt only after a change."""

    def __init__(self, directory: Path) -> None:
        self._directory = Path(directory)
        self._lock = threading.Lock()
        self._watcher: sqlite3.Connection | None = None
        self._files: tuple[tuple[int, int], ...] | None = None
        self._key: Key | None = None
        self._index: ChainIndex | None = None
        self.builds = 0  # how many times the index was computed (tests count rebuilds)

    def _file_identity(self) -> FileIdentity:
        try:
            stats = [os.stat(self._directory / name) for name in (PARTS_DB, ASSEMBLY_DB)]
        except OSError as error:
            raise DatabaseFileError(
                f"cannot read the databases in {self._directory}: {error.strerror}"
            ) from None
        return tuple((s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns) for s in stats)

    def _current_key(self) -> Key:
        files = self._file_identity()
        inodes = tuple(identity[:2] for identity in files)
        if self._watcher is None or self._files is None or self._files != inodes:
            self.close_watcher()
            self._watcher = open_read_only(self._directory)
            self._files = inodes
        try:
            versions = tuple(
                self._watcher.execute(f"PRAGMA {schema}.data_version").fetchone()[0]
                for schema in ("main", "asm")
            )
        except sqlite3.Error:
            self.close_watcher()  # reopened (and the error reported again) next time
            raise
        return (files, versions)

    def get(self, conn: sqlite3.Connection) -> ChainIndex:
        """The index for what ``conn`` sees now; built from ``conn`` when out of date."""
        with self._lock:
            key = self._current_key()
            if self._index is None or key != self._key:
                with read_snapshot(conn):
                    self._index = chain_index(conn)
                self._key = key
                self.builds += 1
            return self._index

    def refresh(self) -> None:
        """Rebuild now if the databases changed (the refresher's work, off the request path)."""
        try:
            conn = open_read_only(self._directory)
        except DatabaseFileError:
            return
        try:
            self.get(conn)
        except (DatabaseFileError, sqlite3.Error):
            pass  # the next request reports it
        finally:
            conn.close()

    def start_refresher(self, interval: float = 0.5) -> Refresher:
        """Keep the index warm: a daemon thread rebuilds it shortly after every change, so
        the first page after a scan does not pay for the rebuild. ``stop()`` the returned
        :class:`Refresher` to end it."""
        refresher = Refresher(self, interval)
        refresher.start()
        return refresher

    def close_watcher(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
            self._files = None


class Refresher:
    """The thread that keeps one cache warm; :meth:`stop` ends it and waits until it has.

    Waiting matters to whoever stops it: a thread still inside a rebuild would go on
    reading databases that the caller may be about to close or remove.
    """

    def __init__(self, cache: ChainIndexCache, interval: float) -> None:
        self._cache = cache
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="casman-chain-index", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self._cache.refresh()

    def stop(self, timeout: float = 60.0) -> None:
        """End the thread; returns once it has ended (or after ``timeout`` seconds)."""
        self._stopping.set()
        self._thread.join(timeout)
