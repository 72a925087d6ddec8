"""Putting verified content in place of a live database, safely for every other process.

A restore or fast-forward never renames a file over the live database: a scan session
that has the database open would keep writing into the unlinked old file and acknowledge
scans that are not in the database. Instead the verified file is attached read-only and its
rows are copied into the live database inside one ``BEGIN IMMEDIATE`` transaction: other
casman processes wait on the lock (busy timeout) and then see the new content through the
connections they already hold; a crash leaves the old content or the new, never a mix.

Only when the live file is unreadable (damaged) is it replaced by rename: no process can be
writing to it then, and its raw bytes are kept in the safety folder first.
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from casman.config import SyncSettings
from casman.db.connection import BUSY_TIMEOUT_MS, open_databases
from casman.db.fingerprint import content_fingerprint
from casman.db.schema import DATABASE_NAMES, TABLES
from casman.db.schema_check import column_names, open_private_read_only, private_uri
from casman.errors import CasmanError
from casman.fileio import fsync_directory, fsync_file
from casman.sync.local_cache import file_stat
from casman.sync.snapshot import SnapshotError, take_snapshot

SAFETY_DIR = "safety"
SETTLED_NS = 50_000_000
"""Files last written this long before a stat is taken cannot hide a later write."""
SIDECARS = ("-wal", "-shm", "-journal")
DEFAULT_SAFETY_COPIES = SyncSettings.safety_copies  # one default, in the settings
_STAMPED = re.compile(r"^(?P<db>.+?)\.(?P<stamp>\d{8}_\d{6})\.")
log = logging.getLogger("casman.sync")


class DatabaseChangedError(CasmanError):
    """The live database changed while casman was about to replace it; nothing was done."""


Guard = Callable[[sqlite3.Connection], None]
"""Called inside the install's write transaction: raise to abort with nothing changed."""


@dataclass(frozen=True)
class SafetyCopy:
    """A kept copy of a database and the live files' stat just before it was taken.

    ``readable`` is False for a raw copy of a damaged file (no guard is possible then).
    """

    path: Path
    readable: bool
    before: FileState


@dataclass(frozen=True)
class FileState:
    """The live database's and WAL's (size, mtime, inode) at ``at_ns`` (nanoseconds)."""

    stat: tuple[int, ...]
    at_ns: int

    @classmethod
    def of(cls, path: Path) -> FileState:
        return cls(tuple(file_stat(path)), time.time_ns())

    def unchanged(self, path: Path) -> bool:
        """True only when provably nothing was committed since: same stat, and the files
        were last written well before the stat was taken (a write within the clock's
        granularity after it could otherwise keep the same mtime)."""
        settled = max(self.stat[1], self.stat[4]) < self.at_ns - SETTLED_NS
        return settled and tuple(file_stat(path)) == self.stat


def safety_copy(
    database_dir: Path,
    db_name: str,
    stamp: str,
    reason: str,
    keep: int = DEFAULT_SAFETY_COPIES,
) -> SafetyCopy | None:
    """Keep the current database under ``safety/``; returns the copy (None if no database).

    A readable database is snapshotted (WAL content included); an unreadable one is copied
    byte for byte with its sidecars, so nothing is ever lost by a restore. Only the newest
    ``keep`` copies of each database are kept, so the folder never grows without bound.
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
    before = FileState.of(current)
    readable = True
    try:
        take_snapshot(current, target, fingerprint=False)
    except SnapshotError:
        readable = False
        if target.exists():
            target.unlink()
        shutil.copy2(current, target)
        for suffix in SIDECARS:
            sidecar = current.with_name(current.name + suffix)
            if sidecar.exists():
                shutil.copy2(sidecar, target.with_name(target.name + suffix))
        fsync_file(target)
    prune_safety_copies(database_dir, db_name, keep)
    return SafetyCopy(target, readable, before)


def unchanged_since(copy: SafetyCopy | None, live: Path, db_name: str) -> Guard | None:
    """A guard refusing to install when the live rows differ from the safety copy's.

    Between the safety copy and the install another process may commit (a scan): replacing
    the database then would lose that scan, which no copy holds. The files' stat answers at
    no cost when nothing was written; otherwise the rows are compared (a checkpoint alone
    changes the files but not the rows).
    """
    if copy is None or not copy.readable:
        return None

    def guard(conn: sqlite3.Connection) -> None:
        if copy.before.unchanged(live):
            return
        if content_fingerprint(conn, db_name) != file_fingerprint(copy.path, db_name):
            raise DatabaseChangedError(
                f"{db_name} changed while it was being replaced (another casman process "
                "wrote to it); nothing was replaced, run the command again"
            )

    return guard


def both(first: Guard | None, second: Guard | None) -> Guard | None:
    """Run two optional guards in order."""
    if first is None or second is None:
        return first or second

    def guard(conn: sqlite3.Connection) -> None:
        first(conn)
        second(conn)

    return guard


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


def file_fingerprint(path: Path, db_name: str) -> str:
    """The content fingerprint of a private, verified file (a download)."""
    conn = open_private_read_only(path)
    try:
        return content_fingerprint(conn, db_name)
    finally:
        conn.close()


def _copy_rows(conn: sqlite3.Connection, db_name: str) -> None:
    """Replace every casman table of ``main`` by the one of ``incoming`` (inside a txn)."""
    incoming = {
        row[0] for row in conn.execute("SELECT name FROM incoming.sqlite_master WHERE type='table'")
    }
    for table in TABLES[db_name]:
        conn.execute(f"DELETE FROM main.{table}")
        if table in incoming:
            columns = ", ".join(column_names(db_name, table))
            conn.execute(
                f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM incoming.{table}"
            )
    main_tables = {
        row[0] for row in conn.execute("SELECT name FROM main.sqlite_master WHERE type='table'")
    }
    if "sqlite_sequence" in main_tables:
        conn.execute("DELETE FROM main.sqlite_sequence")
        if "sqlite_sequence" in incoming:
            names = tuple(TABLES[db_name])
            marks = ", ".join("?" for _ in names)
            conn.execute(
                "INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq"
                f" FROM incoming.sqlite_sequence WHERE name IN ({marks})",
                names,
            )


def copy_into_live(
    verified: Path, database_dir: Path, db_name: str, guard: Guard | None = None
) -> None:
    """Make the live ``db_name`` hold exactly the rows of ``verified``, in one transaction.

    ``verified`` must have passed :func:`casman.db.schema_check.check_candidate`. ``guard``
    runs once the write lock is held (nobody else can commit any more) and may raise to
    abort, e.g. when the local database changed since the caller decided to replace it.
    """
    if not all((database_dir / name).is_file() for name in DATABASE_NAMES):
        open_databases(database_dir).close()  # create the live pair with casman's schema
    live = database_dir / db_name
    conn = sqlite3.connect(
        live.resolve().as_uri(), uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("ATTACH DATABASE ? AS incoming", (private_uri(verified),))
        conn.execute("BEGIN IMMEDIATE")
        try:
            if guard is not None:
                guard(conn)
            _copy_rows(conn, db_name)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE incoming")
    except sqlite3.OperationalError as error:
        raise CasmanError(f"could not write {live}: {error}; nothing was changed") from None
    finally:
        conn.close()


def replace_unreadable(verified: Path, database_dir: Path, db_name: str) -> None:
    """Rename ``verified`` over a damaged live file.

    The caller has kept the damaged file and its sidecars as a safety copy; the sidecars
    are removed so SQLite never replays an old WAL onto the new file.
    """
    current = database_dir / db_name
    fsync_file(verified)
    for suffix in SIDECARS:
        current.with_name(current.name + suffix).unlink(missing_ok=True)
    verified.replace(current)
    fsync_directory(database_dir)


def install(verified: Path, database_dir: Path, db_name: str, guard: Guard | None = None) -> None:
    """Put the content of ``verified`` in place of ``database_dir/db_name``."""
    current = database_dir / db_name
    if current.exists() and not is_readable(current):
        log.info("%s is unreadable; replacing the file itself", current)
        replace_unreadable(verified, database_dir, db_name)
        return
    copy_into_live(verified, database_dir, db_name, guard)
