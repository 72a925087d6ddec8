"""Checking a database file casman did not just write (a downloaded backup, a merge input).

A backup is data, never code: before casman installs or merges a file, its ``sqlite_master``
must hold exactly casman's tables with casman's columns and casman's own indexes, and
nothing else (no trigger, view or foreign table). Every statement here names only the
tables casman knows, never an identifier read from the file, and every check runs under a
time budget, so a crafted file can neither run SQL of its own nor keep casman busy.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from casman.db.schema import INDEXES, REQUIRED_TABLES, SCHEMA_VERSION, TABLES
from casman.errors import CasmanError

CHECK_SECONDS = 20.0
"""Time budget of the whole check (integrity_check of a few MB takes milliseconds)."""
MAX_SCHEMA_OBJECTS = 200
_INTERNAL_TABLES = frozenset({"sqlite_sequence", "sqlite_stat1", "sqlite_stat4"})
_PRINTABLE = re.compile(r"[^\x20-\x7e]")


class SchemaMismatchError(CasmanError):
    """The file is not a casman database of the expected kind; nothing was changed."""


def private_uri(path: Path) -> str:
    """URI of a file only this process uses (a download): read-only and ``immutable``, so
    SQLite takes no lock and leaves no ``-wal``/``-shm`` files beside it."""
    return f"{path.resolve().as_uri()}?mode=ro&immutable=1"


def open_private_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(private_uri(path), uri=True, timeout=5)


def _shown(name: object) -> str:
    """An identifier from a foreign file, safe to print on one line."""
    text = _PRINTABLE.sub("?", str(name))
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _normalised(sql: str | None) -> str:
    return " ".join((sql or "").replace("(", " ( ").replace(")", " ) ").split()).lower()


@cache
def expected_objects(db_name: str) -> dict[tuple[str, str], str]:
    """``(type, name) -> normalised SQL`` of what casman itself creates for ``db_name``."""
    reference = sqlite3.connect(":memory:")
    try:
        for ddl in TABLES[db_name].values():
            reference.execute(ddl)
        for ddl in INDEXES[db_name]:
            reference.execute(ddl)
        rows = reference.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        ).fetchall()
    finally:
        reference.close()
    return {(kind, name): _normalised(sql) for kind, name, sql in rows}


@cache
def expected_columns(db_name: str, table: str) -> tuple[tuple[object, ...], ...]:
    reference = sqlite3.connect(":memory:")
    try:
        reference.execute(TABLES[db_name][table])
        return _columns(reference, "main", table)
    finally:
        reference.close()


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> tuple[tuple[object, ...], ...]:
    # ``table`` is always one of casman's own names (checked by the caller), never foreign
    rows = conn.execute(f'PRAGMA {schema}.table_info("{table}")').fetchall()
    return tuple((row[1], str(row[2]).upper(), row[3], row[4], row[5]) for row in rows)


def table_matches(conn: sqlite3.Connection, schema: str, db_name: str, table: str) -> bool:
    """Whether ``table`` (one of casman's names) has exactly casman's columns and DDL.

    Adoption asks this of an older CAsMan file: a table whose DDL differs (a column added
    by ``ALTER TABLE``, a ``CHECK`` the spec lacks) is rebuilt, since a backup of it would
    otherwise be refused by :func:`schema_problems`.
    """
    row = conn.execute(
        f"SELECT sql FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    if row is None:
        return False
    return (
        _columns(conn, schema, table) == expected_columns(db_name, table)
        and _normalised(row[0]) == expected_objects(db_name)[("table", table)]
    )


def column_names(db_name: str, table: str) -> list[str]:
    """casman's column names of ``table``, in DDL order."""
    return [str(column[0]) for column in expected_columns(db_name, table)]


@contextmanager
def time_budget(conn: sqlite3.Connection, seconds: float, what: str) -> Iterator[None]:
    """Abort any statement on ``conn`` that runs past ``seconds`` (SchemaMismatchError)."""
    deadline = time.monotonic() + seconds
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        yield
    except sqlite3.OperationalError as error:
        if "interrupted" in str(error):
            raise SchemaMismatchError(f"{what} took longer than {seconds:.0f} s; refused") from None
        raise
    finally:
        conn.set_progress_handler(None, 0)


def schema_problems(conn: sqlite3.Connection, schema: str, db_name: str) -> list[str]:
    """What in ``schema`` of ``conn`` differs from casman's schema for ``db_name``."""
    expected = expected_objects(db_name)
    rows = conn.execute(
        f"SELECT type, name, tbl_name, sql FROM {schema}.sqlite_master LIMIT ?",
        (MAX_SCHEMA_OBJECTS + 1,),
    ).fetchall()
    if len(rows) > MAX_SCHEMA_OBJECTS:
        return [f"more than {MAX_SCHEMA_OBJECTS} schema objects"]
    problems: list[str] = []
    tables: set[str] = set()
    for kind, name, table_name, sql in rows:
        if kind == "table":
            if name in _INTERNAL_TABLES:
                continue
            if ("table", name) not in expected:
                problems.append(f"an unexpected table {_shown(name)}")
                continue
            tables.add(name)
            if _columns(conn, schema, name) != expected_columns(db_name, name):
                problems.append(f"table {name} has other columns than casman's")
            elif _normalised(sql) != expected[("table", name)]:
                problems.append(f"table {name} has other constraints than casman's")
        elif kind == "index":
            if (
                sql is None
                and str(name).startswith("sqlite_autoindex_")
                and (("table", table_name) in expected)
            ):
                continue
            if expected.get(("index", name)) != _normalised(sql):
                problems.append(f"an unexpected index {_shown(name)}")
        else:
            problems.append(f"a {_shown(kind).strip(chr(39))} {_shown(name)} (code, not data)")
    missing = sorted(REQUIRED_TABLES[db_name] - tables)
    if missing:
        problems.append(f"missing table(s) {', '.join(missing)}")
    return problems


def count_records(conn: sqlite3.Connection, db_name: str, schema: str = "main") -> int:
    """Rows in casman's tables of ``db_name`` (by known names only: never foreign SQL)."""
    present = {
        row[0]
        for row in conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type='table'")
    }
    return sum(
        conn.execute(f'SELECT COUNT(*) FROM {schema}."{table}"').fetchone()[0]
        for table in TABLES[db_name]
        if table in present
    )


def check_candidate(path: Path, db_name: str, seconds: float = CHECK_SECONDS) -> int:
    """Verify a database file before casman installs or merges it; returns its record count.

    Refuses (SchemaMismatchError, one line) a file that is not SQLite, fails
    ``PRAGMA integrity_check``, has a newer schema version, or whose schema is not exactly
    casman's for ``db_name``.
    """
    try:
        conn = open_private_read_only(path)
    except sqlite3.DatabaseError as error:
        raise SchemaMismatchError(f"the backup is not a SQLite database ({error})") from None
    try:
        with time_budget(conn, seconds, "checking the backup"):
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SchemaMismatchError(
                    f"the backup has schema version {version}, newer than this casman "
                    f"understands ({SCHEMA_VERSION}); upgrade casman"
                )
            problems = schema_problems(conn, "main", db_name)
            if problems:
                raise SchemaMismatchError(
                    f"the backup is not a casman {db_name} database: it has "
                    + "; ".join(problems[:5])
                )
            result = conn.execute("PRAGMA integrity_check(5)").fetchall()
            if [row[0] for row in result] != ["ok"]:
                raise SchemaMismatchError(
                    f"the backup fails PRAGMA integrity_check: {_shown(result[0][0])}"
                )
            return count_records(conn, db_name)
    except sqlite3.DatabaseError as error:
        raise SchemaMismatchError(f"the backup is damaged or not SQLite: {error}") from None
    finally:
        conn.close()
