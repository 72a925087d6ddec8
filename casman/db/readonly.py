"""Opening the two databases for reading only: the web views now, a public read API later.

Why a second opener beside :func:`casman.db.connection.open_databases`: the writer's opener
creates the directory, the files and any missing tables, switches the files to WAL and
may take a write lock to do so. A consumer that only reads must do none of that. Pointed
at the wrong directory, it would otherwise leave two empty databases behind (and a later
``casman sync`` could mistake them for a new site), and it would compete with technicians'
scans for the write lock.

:func:`open_read_only` therefore opens both files with SQLite's URI ``mode=ro``: SQLite
itself refuses every write and never creates a database file, so no code path (not even a
bug in a query function) can write. The connection has the same shape as the writer's
(``parts.db`` as ``main``, ``assembled_casm.db`` attached as ``asm``, rows as
:class:`sqlite3.Row`), so every query function in :mod:`casman.db` works on it unchanged.

One thing SQLite does on its own: a reader of a WAL database needs the ``-wal`` and
``-shm`` side files and creates them (empty) when no writer has them open. A reader
cannot remove them on close; they hold no data and the next writer removes them. The
database files themselves are never touched.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from casman.db.connection import (
    ASSEMBLY_SCHEMA,
    BUSY_TIMEOUT_MS,
    DatabaseFileError,
    schema_state,
)
from casman.db.schema import ASSEMBLY_DB, PARTS_DB, REQUIRED_TABLES, TABLES

__all__ = ["open_read_only"]

RESTORE_HINT = "restore it with `casman sync restore KEY` or point CASMAN_DATABASE_DIR elsewhere"


def _read_only_uri(path: Path) -> str:
    """``file:`` URI with ``mode=ro``: SQLite opens the file read-only and never creates it."""
    return f"{path.resolve().as_uri()}?mode=ro"


# SQLite's primary result codes for "not allowed" (as opposed to NOTADB or CORRUPT)
_SQLITE_PERM = 3
_SQLITE_READONLY = 8
_SQLITE_CANTOPEN = 14
_ACCESS_CODES = frozenset({_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_CANTOPEN})


def _unreadable(path: Path, error: Exception) -> DatabaseFileError:
    """One line for a file SQLite would not read, with advice that fits the cause.

    A healthy database in a folder this user may not write fails too (SQLite's
    ``SQLITE_READONLY_DIRECTORY``): a WAL reader must create the ``-wal``/``-shm`` files.
    Calling that damage and suggesting a restore would send the user the wrong way.
    """
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _ACCESS_CODES:
        if not os.access(path, os.R_OK):
            return DatabaseFileError(
                f"cannot read {path} (permission denied); check its permissions"
            )
        return DatabaseFileError(
            f"cannot read {path} ({error}): even to read, SQLite needs {path.name}-wal and "
            f"{path.name}-shm beside it or the right to create them; let this user write to "
            f"folder {path.parent} (the database files may stay read-only)"
        )
    return DatabaseFileError(f"{path} is not a readable SQLite database ({error}); {RESTORE_HINT}")


def _check_files(directory: Path) -> tuple[Path, Path]:
    """Both database paths, after checking they are there, so the message names what is wrong."""
    if not directory.exists():
        raise DatabaseFileError(
            f"database directory {directory} does not exist; set CASMAN_DATABASE_DIR"
        )
    if not directory.is_dir():
        raise DatabaseFileError(f"database directory {directory} is not a directory")
    paths = (directory / PARTS_DB, directory / ASSEMBLY_DB)
    for path in paths:
        if not path.exists():
            raise DatabaseFileError(
                f"no casman database in {directory}: {path.name} is missing; set "
                f"CASMAN_DATABASE_DIR to the directory that holds {PARTS_DB} and {ASSEMBLY_DB}"
            )
        if not path.is_file():
            raise DatabaseFileError(f"{path} is not a file; {directory} holds no casman database")
    return paths


def _check_schema(conn: sqlite3.Connection, schema: str, db_name: str, path: Path) -> set[str]:
    """The tables ``schema`` holds, after checking the file is a casman database we can read."""
    _, tables = schema_state(conn, schema, path)
    missing = sorted(REQUIRED_TABLES[db_name] - tables)
    if missing:
        raise DatabaseFileError(
            f"{path} is not a casman {db_name} (no table {', '.join(missing)}); {RESTORE_HINT}"
        )
    return tables


def _stand_in_tables(conn: sqlite3.Connection, db_name: str, present: set[str]) -> None:
    """Empty TEMP tables for the optional tables an older file predates.

    The writer adds such a table (``grid_positions``, which the original spec's DDL lacks)
    the first time it opens the file; a reader cannot. An empty stand-in in the ``temp``
    schema lets the unqualified queries in :mod:`casman.db` answer "nothing there" instead
    of failing. It exists only in this connection, never in the file, and it is created
    only where ``main`` lacks the table, so it never hides real data.
    """
    for name, ddl in TABLES[db_name].items():
        if name not in present:
            conn.execute(ddl.replace(f"CREATE TABLE {name}", f"CREATE TEMP TABLE {name}", 1))


def open_read_only(directory: Path) -> sqlite3.Connection:
    """A read-only connection: ``parts.db`` as ``main``, ``assembled_casm.db`` as ``asm``.

    Raises :class:`~casman.db.connection.DatabaseFileError` with a one-line message naming
    the directory or file when the directory or either file is missing, is not a file, is
    not a SQLite database, is not a casman database (its required tables are missing) or
    has a newer schema. No database file or directory is ever created. Files of the
    original CAsMan (or an older casman) are read through an adopted copy in memory
    (:func:`casman.db.adopt.adopted_view`), so they read as casman reads them.

    The connection is in autocommit mode (``isolation_level=None``), so it never holds a
    read transaction between statements: each query sees everything committed so far and
    a writer's checkpoint is never held back by an idle reader. A caller that needs several
    queries to see one snapshot wraps them in ``BEGIN`` … ``COMMIT`` itself (a read
    transaction; in WAL mode it does not block writers). Close the connection when done.
    """
    directory = Path(directory)
    parts_path, assembly_path = _check_files(directory)
    from casman.db.adopt_mark import directory_is_current

    if not directory_is_current(directory):
        from casman.db.adopt import adopted_view

        view = adopted_view(directory)  # older CAsMan files: adopted in memory, never on disk
        if view is not None:
            return view
    try:
        conn = sqlite3.connect(
            _read_only_uri(parts_path),
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as error:
        raise _unreadable(parts_path, error) from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA temp_store = MEMORY")
        present = _check_schema(conn, "main", PARTS_DB, parts_path)
        try:
            conn.execute(
                f"ATTACH DATABASE ? AS {ASSEMBLY_SCHEMA}", (_read_only_uri(assembly_path),)
            )
        except sqlite3.Error as error:
            raise _unreadable(assembly_path, error) from None
        _check_schema(conn, ASSEMBLY_SCHEMA, ASSEMBLY_DB, assembly_path)
        _stand_in_tables(conn, PARTS_DB, present)
    except BaseException:
        conn.close()
        raise
    conn.row_factory = sqlite3.Row
    return conn
