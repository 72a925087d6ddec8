"""Opening the two databases safely for several processes at once.

Both files live in one directory. ``parts.db`` is the main database and
``assembled_casm.db`` is attached as ``asm``, so one ``BEGIN IMMEDIATE`` covers a
connection's whole check-then-write: two technicians scanning at the same moment queue on
the lock (busy timeout) instead of both passing the "one outgoing connection" rule.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from casman.db.schema import ASSEMBLY_DB, INDEXES, PARTS_DB, SCHEMA_VERSION, TABLES
from casman.errors import CasmanError

BUSY_TIMEOUT_MS = 30_000
ASSEMBLY_SCHEMA = "asm"


class DatabaseFileError(CasmanError):
    """A database file that cannot be opened or is not a casman database."""


def _unreadable(path: Path, error: Exception) -> DatabaseFileError:
    return DatabaseFileError(
        f"{path} is not a readable SQLite database ({error}); restore it with "
        "`casman sync restore KEY` or move it aside"
    )


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


def ensure_schema(conn: sqlite3.Connection, schema: str, db_name: str, path: Path) -> None:
    """Create missing tables and indexes and record the schema version.

    Tables that already exist are left exactly as they are (an older casman's file keeps
    its data); only what is missing is added.
    """
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
    missing = [name for name in TABLES[db_name] if name not in existing]
    if version == SCHEMA_VERSION and not missing:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name in missing:
            ddl = TABLES[db_name][name].replace(
                f"CREATE TABLE {name}", f"CREATE TABLE IF NOT EXISTS {schema}.{name}", 1
            )
            conn.execute(ddl)
        for ddl in INDEXES[db_name]:
            conn.execute(ddl.replace("IF NOT EXISTS ", f"IF NOT EXISTS {schema}.", 1))
        conn.execute(f"PRAGMA {schema}.user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


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
    conn = sqlite3.connect(
        parts_path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute(f"ATTACH DATABASE ? AS {ASSEMBLY_SCHEMA}", (str(assembly_path),))
        _configure(conn, "main", parts_path)
        _configure(conn, ASSEMBLY_SCHEMA, assembly_path)
        ensure_schema(conn, "main", PARTS_DB, parts_path)
        ensure_schema(conn, ASSEMBLY_SCHEMA, ASSEMBLY_DB, assembly_path)
    except sqlite3.DatabaseError as error:
        conn.close()
        raise _unreadable(_first_unreadable(parts_path, assembly_path), error) from None
    except BaseException:
        conn.close()
        raise
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception rolls everything back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def databases(directory: Path) -> Iterator[sqlite3.Connection]:
    conn = open_databases(directory)
    try:
        yield conn
    finally:
        conn.close()
