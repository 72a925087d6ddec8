"""Opening the two databases safely for several processes at once.

Both files live in one directory. ``parts.db`` is the main database and
``assembled_casm.db`` is attached as ``asm``, so one ``BEGIN IMMEDIATE`` covers a
connection's whole check-then-write: two technicians scanning at the same moment queue on
the lock (busy timeout) instead of both passing the "one outgoing connection" rule.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from casman.db import capture
from casman.db.changes import Change, announce
from casman.db.schema import ASSEMBLY_DB, PARTS_DB, SCHEMA_VERSION, TABLES
from casman.errors import CasmanError

BUSY_TIMEOUT_MS = 30_000
ASSEMBLY_SCHEMA = "asm"


class DatabaseFileError(CasmanError):
    """A database file that cannot be opened or is not a casman database."""


def _unreadable(path: Path, error: Exception) -> DatabaseFileError:
    if isinstance(error, sqlite3.Error) and path.suffix == ".db":
        blocked = inaccessible([path], error)
        if blocked is not None:
            return blocked
    return DatabaseFileError(
        f"{path} is not a readable SQLite database ({error}); restore it with "
        "`casman sync restore KEY` or move it aside"
    )


# SQLite's primary result codes for "not allowed", as opposed to SQLITE_NOTADB/CORRUPT.
_SQLITE_PERM = 3
_SQLITE_READONLY = 8
_SQLITE_CANTOPEN = 14
_ACCESS_CODES = frozenset({_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_CANTOPEN})


def inaccessible(paths: Sequence[Path], error: sqlite3.Error) -> DatabaseFileError | None:
    """The error for a healthy database the user may not read or write, or None if that is
    not what ``error`` is about.

    A file with mode 0444 (or 0000), a read-only folder or a read-only mount makes SQLite
    fail with "attempt to write a readonly database" or "unable to open database file";
    calling that damage and suggesting a restore sends the user the wrong way. Only
    SQLite's permission-type codes qualify (a file that is not a database keeps the
    "restore" advice), and the message names what is blocked: the file, its
    ``-wal``/``-shm`` companions, or the folder where SQLite must create them even to read
    a WAL database.
    """
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(code, int) or code & 0xFF not in _ACCESS_CODES:
        return None
    for path in paths:
        blocked = _blocked(path)
        if blocked is not None:
            return blocked
    if code & 0xFF == _SQLITE_READONLY and paths:
        return DatabaseFileError(
            f"cannot write to {paths[0]} ({error}); check its permissions and the mount"
        )
    return None


def _blocked(path: Path) -> DatabaseFileError | None:
    folder = path.parent
    reason = "read-only file system" if _read_only_mount(folder) else "permission denied"
    companions = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    for candidate in (path, *companions):
        if candidate.exists() and not os.access(candidate, os.R_OK):
            return DatabaseFileError(
                f"cannot read {candidate} (permission denied); check its permissions"
            )
        if candidate.exists() and not os.access(candidate, os.W_OK):
            return DatabaseFileError(
                f"cannot write to {candidate} ({reason}); check its permissions"
            )
    if os.access(folder, os.W_OK):
        return None
    if not path.exists():
        return DatabaseFileError(
            f"cannot create {path} ({reason}); check the permissions of folder {folder}"
        )
    if not all(c.exists() for c in companions):
        return DatabaseFileError(
            f"cannot write to folder {folder} ({reason}), where SQLite creates "
            f"{path.name}-wal and -shm even to read; check its permissions"
        )
    return None


def _read_only_mount(folder: Path) -> bool:
    statvfs = getattr(os, "statvfs", None)
    if statvfs is None:
        return False
    try:
        return bool(statvfs(folder).f_flag & getattr(os, "ST_RDONLY", 1))
    except OSError:
        return False


def _attached_files(conn: sqlite3.Connection) -> list[Path]:
    try:
        rows = conn.execute("PRAGMA database_list").fetchall()
    except sqlite3.Error:
        return []
    return [Path(row[2]) for row in rows if row[2]]


def _first_unreadable(*paths: Path) -> Path:
    """Which of the files SQLite refused, so the message names the right one."""
    for path in paths:
        if not path.exists():
            continue
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            probe.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError:
            return path
        finally:
            probe.close()
    return paths[0].parent


def schema_state(conn: sqlite3.Connection, schema: str, path: Path) -> tuple[int, set[str]]:
    """The schema version and tables of ``schema``; refuses a newer casman's file."""
    try:
        version = conn.execute(f"PRAGMA {schema}.user_version").fetchone()[0]
        existing = {
            row[0]
            for row in conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type='table'")
        }
    except sqlite3.DatabaseError as error:
        raise _unreadable(path, error) from None
    if version > SCHEMA_VERSION:
        raise DatabaseFileError(
            f"{path} has schema version {version}, newer than this casman understands "
            f"({SCHEMA_VERSION}); upgrade casman"
        )
    return version, existing


def ensure_schema(conn: sqlite3.Connection, schema: str, db_name: str, path: Path) -> None:
    """Make ``schema`` a casman database: create what is missing, adopt an older file.

    A file casman has checked before (``PRAGMA application_id``, see
    :mod:`casman.db.adopt`) costs three small reads. A new file gets casman's tables; a
    file the original CAsMan or an older casman wrote is adopted in place (a safety copy
    first, every row kept, values mapped by the documented rules); a file casman cannot
    read is refused with one line and left as it was.
    """
    version, existing = schema_state(conn, schema, path)
    missing = [name for name in TABLES[db_name] if name not in existing]
    application_id = conn.execute(f"PRAGMA {schema}.application_id").fetchone()[0]
    from casman.db.adopt_mark import ADOPTED_MARK

    if version == SCHEMA_VERSION and not missing and application_id == ADOPTED_MARK:
        return
    from casman.db.adopt import adopt_attached

    adopt_attached(conn, schema, db_name, path)


def _configure(conn: sqlite3.Connection, schema: str, path: Path) -> None:
    try:
        mode = conn.execute(f"PRAGMA {schema}.journal_mode").fetchone()[0]
        if mode != "wal":
            conn.execute(f"PRAGMA {schema}.journal_mode = WAL")
    except sqlite3.DatabaseError as error:
        raise _unreadable(path, error) from None


def open_databases(directory: Path, *, create: bool = True) -> sqlite3.Connection:
    """One connection: ``parts.db`` as main, ``assembled_casm.db`` attached as ``asm``.

    The connection is in autocommit mode; writers use :func:`write_transaction`.
    """
    directory = Path(directory)
    if not directory.exists():
        if not create:
            raise DatabaseFileError(
                f"database directory {directory} does not exist; set CASMAN_DATABASE_DIR"
            )
        directory.mkdir(parents=True, exist_ok=True)
    parts_path = directory / PARTS_DB
    assembly_path = directory / ASSEMBLY_DB
    for path in (parts_path, assembly_path):
        if path.exists() and not path.is_file():
            raise DatabaseFileError(f"{path} is not a file")
    try:
        conn = sqlite3.connect(
            parts_path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as error:
        blocked = inaccessible([parts_path], error)
        if blocked is not None:
            raise blocked from None
        raise
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute(f"ATTACH DATABASE ? AS {ASSEMBLY_SCHEMA}", (str(assembly_path),))
        _configure(conn, "main", parts_path)
        _configure(conn, ASSEMBLY_SCHEMA, assembly_path)
        ensure_schema(conn, "main", PARTS_DB, parts_path)
        ensure_schema(conn, ASSEMBLY_SCHEMA, ASSEMBLY_DB, assembly_path)
        capture.install_capture(conn)
    except sqlite3.DatabaseError as error:
        conn.close()
        blocked = inaccessible([parts_path, assembly_path], error)
        if blocked is not None:
            raise blocked from None
        raise _unreadable(_first_unreadable(parts_path, assembly_path), error) from None
    except BaseException:
        conn.close()
        raise
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def write_transaction(
    conn: sqlite3.Connection, change: Change | None = None
) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception rolls everything back.

    A write refused because the file (or its folder) is read-only is reported as exactly
    that, naming the file, rather than as a generic database problem. ``change`` names what
    is written; it is announced (:mod:`casman.db.changes`) once the COMMIT succeeded.
    The rows written become one change record in the same transaction
    (:mod:`casman.db.records`), so nothing is ever committed without its record.
    """
    from casman.db import records  # writes only: reading commands never pay for it

    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        _raise_if_inaccessible(conn, error)
        raise

    try:
        records.begin(conn)
        yield conn
        records.seal(conn, change.kind if change is not None else "write")
    except BaseException as error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(error, sqlite3.Error):
            _raise_if_inaccessible(conn, error)
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as error:
        _raise_if_inaccessible(conn, error)
        raise
    if change is not None:
        announce(conn, change)


def _raise_if_inaccessible(conn: sqlite3.Connection, error: sqlite3.Error) -> None:
    blocked = inaccessible(_attached_files(conn), error)
    if blocked is not None:
        raise blocked from None


@contextmanager
def databases(directory: Path) -> Iterator[sqlite3.Connection]:
    conn = open_databases(directory)
    try:
        yield conn
    finally:
        conn.close()
