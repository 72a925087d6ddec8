"""What an existing database file holds, table by table, before anything is mapped.

Adoption reads the layout first: which of casman's tables are there and whether their DDL
is exactly casman's, which are missing, and what else the file holds. Old bookkeeping
(the old tool's ``schema_version`` table, indexes casman does not create) is dropped by a
rule; anything else that is not data casman knows (another table, a trigger, a view) makes
the file one casman cannot read, refused with one line naming it. Every statement names
only casman's own tables; identifiers read from the file are only ever printed.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from casman.db.adopt_mark import ADOPTED_MARK
from casman.db.schema import INDEXES, REQUIRED_TABLES, SCHEMA_VERSION, TABLES
from casman.db.schema_check import MAX_SCHEMA_OBJECTS, _shown, table_matches

OWN_PREFIX = "casman_"
"""Tables casman keeps beside the spec's (change records): never touched by adoption."""
BOOKKEEPING_TABLES = frozenset({"schema_version"})
_INTERNAL = ("sqlite_",)

KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "parts": ("part_number",),
    "antenna_positions": ("antenna_number", "grid_code"),
    "snap_boards": ("chassis", "slot", "serial_number"),
    "grid_positions": ("grid_code",),
    "assembly": ("part_number", "connected_to"),
}
"""Columns without which a table's rows mean nothing to casman (their absence is refused)."""


class LayoutRefused(Exception):
    """The file holds something casman cannot read; ``str()`` names it (one line)."""


@dataclass
class Layout:
    """One database file (attached as ``schema``) as adoption found it."""

    schema: str
    db_name: str
    path: Path
    version: int
    marked: bool
    present: dict[str, list[str]] = field(default_factory=dict)
    """casman's tables that are there → their columns as the file has them."""
    exact: set[str] = field(default_factory=set)
    """Tables whose DDL is exactly casman's."""
    missing: list[str] = field(default_factory=list)
    bookkeeping: list[str] = field(default_factory=list)
    foreign_indexes: list[str] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """A new file: nothing in it yet (casman creates everything)."""
        return not self.present and not self.bookkeeping

    @property
    def current(self) -> bool:
        """Checked by casman before and nothing since changed its layout."""
        return (
            self.marked
            and self.version == SCHEMA_VERSION
            and not self.missing
            and not self.bookkeeping
            and not self.foreign_indexes
            and self.exact == set(self.present)
        )


def _foreign(name: str) -> bool:
    return not name.startswith(_INTERNAL) and not name.startswith(OWN_PREFIX)


def _index_is_casmans(db_name: str, name: str, sql: str | None) -> bool:
    return any(f" {name} ON " in ddl for ddl in INDEXES[db_name]) or sql is None


def read_layout(conn: sqlite3.Connection, schema: str, db_name: str, path: Path) -> Layout:
    """The layout of ``schema``; raises :class:`LayoutRefused` for what casman cannot read."""
    version = int(conn.execute(f"PRAGMA {schema}.user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise LayoutRefused(
            f"{path} has schema version {version}, newer than this casman understands "
            f"({SCHEMA_VERSION}); upgrade casman"
        )
    marked = int(conn.execute(f"PRAGMA {schema}.application_id").fetchone()[0]) == ADOPTED_MARK
    rows = conn.execute(
        f"SELECT type, name, tbl_name, sql FROM {schema}.sqlite_master LIMIT ?",
        (MAX_SCHEMA_OBJECTS + 1,),
    ).fetchall()
    if len(rows) > MAX_SCHEMA_OBJECTS:
        raise LayoutRefused(f"{path} has more than {MAX_SCHEMA_OBJECTS} schema objects")
    layout = Layout(schema, db_name, path, version, marked)
    known = TABLES[db_name]
    names = {str(row[1]) for row in rows if row[0] == "table"}
    foreign = sorted(n for n in names - set(known) - BOOKKEEPING_TABLES if _foreign(n))
    if foreign and not names & set(known):
        raise LayoutRefused(
            f"{path} is not a casman {db_name} (no table "
            f"{', '.join(sorted(REQUIRED_TABLES[db_name]))}; it holds {_shown(foreign[0])}); "
            "restore it with `casman sync restore KEY` or point CASMAN_DATABASE_DIR elsewhere"
        )
    for kind, name, table_name, sql in rows:
        name, table_name = str(name), str(table_name)
        if name.startswith(_INTERNAL) or table_name.startswith(OWN_PREFIX):
            continue
        if kind == "table" and name in known:
            layout.present[name] = [
                str(row[1]) for row in conn.execute(f'PRAGMA {schema}.table_info("{name}")')
            ]
        elif kind == "table" and name in BOOKKEEPING_TABLES:
            layout.bookkeeping.append(name)
        elif kind == "index" and table_name in known:
            if not _index_is_casmans(db_name, name, sql):
                layout.foreign_indexes.append(name)
        elif kind == "index" and table_name in BOOKKEEPING_TABLES:
            continue
        elif kind == "table":
            raise LayoutRefused(
                f"{path} holds a table {_shown(name)} that casman does not know; move it to "
                f"another file (sqlite3 {path.name} '.dump {name}'), drop it and run again"
            )
        else:
            raise LayoutRefused(
                f"{path} holds a {_shown(kind).strip(chr(39))} {_shown(name)} (code, not "
                "data) that casman would not run; drop it and run again"
            )
    for table, columns in layout.present.items():
        lacking = [column for column in KEY_COLUMNS[table] if column not in columns]
        if lacking:
            raise LayoutRefused(
                f"{path}: table {table} has no column {', '.join(lacking)}, so casman cannot "
                "read its rows"
            )
        if table_matches(conn, schema, db_name, table):
            layout.exact.add(table)
    layout.missing = [name for name in known if name not in layout.present]
    if conn.execute(
        f"SELECT 1 FROM {schema}.sqlite_master WHERE name = 'sqlite_sequence'"
    ).fetchone():
        layout.sequences = {
            str(name): int(seq)
            for name, seq in conn.execute(f"SELECT name, seq FROM {schema}.sqlite_sequence")
            if name in known and isinstance(seq, int)
        }
    return layout
