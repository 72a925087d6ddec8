"""A database's content fingerprint: what "unchanged" means for sync.

Two files can hold the same rows in different pages (a restore copies rows into the live
database instead of replacing its file), so comparing file checksums would see a change
where there is none. The fingerprint is a SHA-256 over casman's tables, row by row in
primary-key order: equal fingerprints mean equal content, whatever the file layout.
"""

from __future__ import annotations

import hashlib
import sqlite3

from casman.db.schema import TABLES
from casman.db.schema_check import column_names

_BATCH = 2000


def content_fingerprint(conn: sqlite3.Connection, db_name: str, schema: str = "main") -> str:
    """SHA-256 (hex) of every row of ``db_name``'s tables in ``schema`` of ``conn``.

    Run it inside the transaction whose view it must describe (a reader sees the
    committed state; the installer sees its own uncommitted rows).
    """
    present = {
        row[0]
        for row in conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type='table'")
    }
    digest = hashlib.sha256()
    for table in sorted(TABLES[db_name]):
        columns = column_names(db_name, table)
        digest.update(f"\x00table {table} {','.join(columns)}\x00".encode())
        if table not in present:
            continue
        cursor = conn.execute(
            f"SELECT {', '.join(columns)} FROM {schema}.{table} ORDER BY {columns[0]}"
        )
        while rows := cursor.fetchmany(_BATCH):
            for row in rows:
                digest.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
                digest.update(b"\n")
    return digest.hexdigest()
