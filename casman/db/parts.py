"""The ``parts`` table: numbered parts and SNAP ports seen in a connection."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from casman.db.changes import Change
from casman.db.connection import write_transaction
from casman.db.schema import PARTS_DB
from casman.domain.errors import DomainError
from casman.domain.parts import (
    NumberBlock,
    PartType,
    format_part_number,
    parse_numbered_part,
)
from casman.domain.snap import SnapPort
from casman.domain.timestamps import now_iso

MAX_PARTS_PER_ADD = 10_000


@dataclass(frozen=True)
class PartRecord:
    part_number: str
    part_type: str
    polarization: str | None
    date_created: str
    date_modified: str


def _record(row: sqlite3.Row) -> PartRecord:
    return PartRecord(
        row["part_number"],
        row["part_type"],
        row["polarization"],
        row["date_created"],
        row["date_modified"],
    )


def add_parts(
    conn: sqlite3.Connection,
    part_type: PartType,
    count: int,
    polarization: str,
    block: NumberBlock | None = None,
) -> list[str]:
    """Create ``count`` new parts numbered ``max(n) + 1`` onwards for this type and polarization.

    The number is read and the rows inserted in one IMMEDIATE transaction, so two people
    adding antennas at once never receive the same number. With a site's ``block`` the
    numbers continue from the highest *inside the block*, so two sites never collide.
    """
    block = block or NumberBlock()
    if not part_type.is_numbered:
        raise DomainError(
            "SNAP ports are not added with `parts add`; they are recorded when first connected"
        )
    if not 1 <= count <= MAX_PARTS_PER_ADD:
        raise DomainError(f"count must be between 1 and {MAX_PARTS_PER_ADD}, got {count}")
    with write_transaction(conn, Change(PARTS_DB, "parts add", count)):
        row = conn.execute(
            "SELECT MAX(part_number) FROM parts WHERE part_type = ? AND polarization = ?"
            " AND part_number BETWEEN ? AND ?",
            (
                part_type.name,
                polarization,
                block.first(part_type, polarization),
                block.last(part_type, polarization),
            ),
        ).fetchone()
        highest = parse_numbered_part(row[0]).serial if row[0] else block.start - 1
        if highest + count > block.end:
            raise DomainError(
                f"cannot add {count} {part_type.name} {polarization}: numbers would pass "
                f"{block.end}, the end of this site's block (highest is {highest})"
            )
        stamp = now_iso()
        numbers = [
            format_part_number(part_type, serial, polarization)
            for serial in range(highest + 1, highest + count + 1)
        ]
        conn.executemany(
            "INSERT INTO parts (part_number, part_type, polarization, date_created, date_modified)"
            " VALUES (?, ?, ?, ?, ?)",
            [(number, part_type.name, polarization, stamp, stamp) for number in numbers],
        )
    return numbers


def list_parts(
    conn: sqlite3.Connection, part_type: PartType | None = None, polarization: str | None = None
) -> list[PartRecord]:
    clauses, args = [], []
    if part_type is not None:
        clauses.append("part_type = ?")
        args.append(part_type.name)
    if polarization is not None:
        clauses.append("polarization = ?")
        args.append(polarization)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        "SELECT part_number, part_type, polarization, date_created, date_modified FROM parts"
        f"{where} ORDER BY part_type, part_number",
        args,
    )
    return [_record(row) for row in rows]


def get_part(conn: sqlite3.Connection, part_number: str) -> PartRecord | None:
    row = conn.execute(
        "SELECT part_number, part_type, polarization, date_created, date_modified FROM parts"
        " WHERE part_number = ?",
        (part_number,),
    ).fetchone()
    return _record(row) if row else None


def part_exists(conn: sqlite3.Connection, part_number: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM parts WHERE part_number = ?", (part_number,)).fetchone()
        is not None
    )


def ensure_snap_part(conn: sqlite3.Connection, port: SnapPort, stamp: str) -> None:
    """A SNAP port's ``parts`` row is created on its first connection (inside the caller's
    transaction)."""
    conn.execute(
        "INSERT OR IGNORE INTO parts (part_number, part_type, polarization, date_created,"
        " date_modified) VALUES (?, 'SNAP', NULL, ?, ?)",
        (port.part_number, stamp, stamp),
    )
