"""Writing a plan: casman's tables rebuilt with the spec's DDL, every row and id kept.

:func:`apply_plan` runs inside the caller's transaction, so a migration is all or nothing.
A table is rebuilt by renaming the old one aside, creating casman's table with the exact
DDL, inserting the planned rows with their ids, then dropping the old one: ``sqlite_master``
then holds casman's own text (renaming the new table into place would store a quoted
name), and the ``AUTOINCREMENT`` counters never go below what the old tool reached.

:func:`in_memory_copy` gives the same two-schema connection over a copy in memory: the
adopted view readers see, and the dry run that proves a plan applies before the real files
are touched.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from casman.db.adopt.plan import FilePlan, PlanRefused
from casman.db.adopt_mark import ADOPTED_MARK
from casman.db.schema import INDEXES, SCHEMA_VERSION, TABLES

_OLD_PREFIX = "casman_adopt_old_"
_HEADER_SIZE = 100
_WRITE_VERSION, _READ_VERSION = 18, 19
_LEGACY_JOURNAL = 1


def _quoted(identifier: str) -> str:
    """An identifier read from a file, quoted so it can only ever name an object."""
    return '"' + identifier.replace('"', '""') + '"'


def _create(conn: sqlite3.Connection, schema: str, db_name: str, name: str) -> None:
    ddl = TABLES[db_name][name]
    conn.execute(ddl.replace(f"CREATE TABLE {name}", f"CREATE TABLE {schema}.{name}", 1))


def apply_plan(conn: sqlite3.Connection, plan: FilePlan) -> None:
    """Write ``plan`` through ``conn`` (inside the caller's transaction)."""
    layout = plan.layout
    schema, db_name = layout.schema, layout.db_name
    for index in layout.foreign_indexes:
        conn.execute(f"DROP INDEX {schema}.{_quoted(index)}")
    for old_table in layout.bookkeeping:
        conn.execute(f"DROP TABLE {schema}.{_quoted(old_table)}")
    for name, table in plan.tables.items():
        if not table.rebuild:
            continue
        if name in layout.present:
            conn.execute(f"ALTER TABLE {schema}.{name} RENAME TO {_OLD_PREFIX}{name}")
        _create(conn, schema, db_name, name)
        marks = ", ".join("?" for _ in table.columns)
        conn.executemany(
            f"INSERT INTO {schema}.{name} ({', '.join(table.columns)}) VALUES ({marks})",
            table.rows,
        )
        if name in layout.present:
            conn.execute(f"DROP TABLE {schema}.{_OLD_PREFIX}{name}")
        reached = layout.sequences.get(name)
        if reached is not None:
            conn.execute(
                f"UPDATE {schema}.sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?",
                (reached, name),
            )
            conn.execute(
                f"INSERT INTO {schema}.sqlite_sequence (name, seq) SELECT ?, ? WHERE NOT EXISTS"
                f" (SELECT 1 FROM {schema}.sqlite_sequence WHERE name = ?)",
                (name, reached, name),
            )
    for name in layout.missing:
        if name not in plan.tables:
            _create(conn, schema, db_name, name)
    for ddl in INDEXES[db_name]:
        conn.execute(ddl.replace("IF NOT EXISTS ", f"IF NOT EXISTS {schema}.", 1))
    conn.execute(f"PRAGMA {schema}.user_version = {SCHEMA_VERSION}")
    conn.execute(f"PRAGMA {schema}.application_id = {ADOPTED_MARK}")


def in_memory_copy(conn: sqlite3.Connection, schemas: Sequence[str]) -> sqlite3.Connection:
    """A private connection holding a copy of ``schemas`` of ``conn`` (same names)."""
    copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    try:
        for schema in schemas:
            if schema != "main":
                copy.execute(f"ATTACH DATABASE ':memory:' AS {schema}")
            if not conn.execute(f"PRAGMA {schema}.page_count").fetchone()[0]:
                continue  # a file not there yet: an empty database (SQLite cannot serialize it)
            data = bytearray(conn.serialize(name=schema))
            if len(data) >= _HEADER_SIZE:
                # a WAL file's header says "WAL"; a memory database has no WAL to write
                data[_WRITE_VERSION] = data[_READ_VERSION] = _LEGACY_JOURNAL
            copy.deserialize(bytes(data), name=schema)
    except BaseException:
        copy.close()
        raise
    return copy


def check_plans(copy: sqlite3.Connection, plans: Sequence[FilePlan]) -> None:
    """Apply ``plans`` to an in-memory ``copy`` and prove nothing was dropped.

    Rows that break a constraint of the spec's DDL (two antennas at one grid code in a
    table that did not forbid it, a NOT NULL column without a value) are refused with one
    line naming the table and the constraint; the real files have not been touched.
    """
    copy.execute("BEGIN")
    try:
        for plan in plans:
            try:
                apply_plan(copy, plan)
            except sqlite3.IntegrityError as error:
                raise PlanRefused(
                    f"{plan.layout.path}: its rows break a rule of casman's tables ({error}); "
                    "fix those rows with sqlite3 and run again"
                ) from None
            for name, table in plan.tables.items():
                stored = copy.execute(
                    f"SELECT COUNT(*) FROM {plan.layout.schema}.{name}"
                ).fetchone()[0]
                if stored != len(table.rows) or len(table.rows) < table.source_rows:
                    raise PlanRefused(
                        f"{plan.layout.path}: table {name} would hold {stored} rows instead of "
                        f"{table.source_rows}; nothing was changed"
                    )
        copy.execute("COMMIT")
    except BaseException:
        if copy.in_transaction:
            copy.execute("ROLLBACK")
        raise
