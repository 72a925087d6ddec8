"""The ``snap_boards`` table and its CSV loader."""

from __future__ import annotations

import sqlite3
from operator import attrgetter
from pathlib import Path

from casman.db.changes import Change, announce
from casman.db.connection import write_transaction
from casman.db.csv_files import CsvLoadError, LoadReport, duplicates, read_rows
from casman.db.schema import PARTS_DB
from casman.domain.snap import SnapBoard, SnapBoardId, make_board
from casman.domain.timestamps import now_iso

CSV_COLUMNS = ("chassis", "slot", "sn", "mac", "ip", "feng_id")
_UNIQUE_FIELDS = (
    ("serial_number", "serial number"),
    ("mac_address", "MAC address"),
    ("ip_address", "IP address"),
    ("feng_id", "feng_id"),
)


def _from_row(row: sqlite3.Row) -> SnapBoard:
    return SnapBoard(
        SnapBoardId(row["chassis"], row["slot"]),
        row["serial_number"],
        row["mac_address"],
        row["ip_address"],
        row["feng_id"],
        row["notes"] or "",
    )


def all_boards(conn: sqlite3.Connection) -> dict[SnapBoardId, SnapBoard]:
    rows = conn.execute("SELECT * FROM snap_boards ORDER BY chassis, slot")
    boards = [_from_row(row) for row in rows]
    return {board.board: board for board in boards}


def get_board(conn: sqlite3.Connection, board: SnapBoardId) -> SnapBoard | None:
    row = conn.execute(
        "SELECT * FROM snap_boards WHERE chassis = ? AND slot = ?", (board.chassis, board.slot)
    ).fetchone()
    return _from_row(row) if row else None


def parse_csv(path: Path) -> list[tuple[int, SnapBoard]]:
    def parse(values: dict[str, str]) -> SnapBoard:
        return make_board(
            values["chassis"],
            values["slot"],
            values["sn"],
            values["mac"],
            values["ip"],
            values["feng_id"],
            values.get("notes", ""),
        )

    def unique(rows: list[tuple[int, SnapBoard]]) -> list[str]:
        problems = duplicates(rows, lambda board: board.board.name, "board")
        for attribute, label in _UNIQUE_FIELDS:
            problems += duplicates(rows, attrgetter(attribute), label)
        return problems

    return read_rows(path, CSV_COLUMNS, parse, unique)


def load_boards(conn: sqlite3.Connection, path: Path) -> LoadReport:
    """Insert or update every board of the file in one transaction.

    Boards in the file replace their rows as a set, so swapping two boards' feng ids (or
    serials) in one file works; a value that collides with a board *not* in the file is
    reported as a problem and nothing is written.
    """
    rows = parse_csv(path)
    with write_transaction(conn):
        existing = all_boards(conn)
        incoming = {board.board: board for _, board in rows}
        problems = []
        for attribute, label in _UNIQUE_FIELDS:
            kept = {
                getattr(board, attribute): board.board.name
                for board_id, board in existing.items()
                if board_id not in incoming
            }
            for line_number, board in rows:
                value = getattr(board, attribute)
                if value in kept:
                    problems.append(
                        f"line {line_number}: {label} {value} is already used by board "
                        f"{kept[value]}, which is not in this file"
                    )
        if problems:
            raise CsvLoadError(path, problems)
        stamp = now_iso()
        loaded = updated = unchanged = 0
        changed_ids = [b for b in incoming if b in existing and existing[b] != incoming[b]]
        # Delete the changed rows first and re-insert them with their id and date_added, so a
        # swap never collides with itself on the UNIQUE columns mid-update.
        kept_identity: dict[SnapBoardId, tuple[int, str]] = {}
        for board_id in changed_ids:
            row = conn.execute(
                "SELECT id, date_added FROM snap_boards WHERE chassis = ? AND slot = ?",
                (board_id.chassis, board_id.slot),
            ).fetchone()
            kept_identity[board_id] = (row["id"], row["date_added"])
            conn.execute("DELETE FROM snap_boards WHERE id = ?", (row["id"],))
        for board_id, board in incoming.items():
            values = (
                board_id.chassis,
                board_id.slot,
                board.serial_number,
                board.mac_address,
                board.ip_address,
                board.feng_id,
                board.notes or None,
            )
            if board_id not in existing:
                conn.execute(
                    "INSERT INTO snap_boards (chassis, slot, serial_number, mac_address,"
                    " ip_address, feng_id, notes, date_added) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, stamp),
                )
                loaded += 1
            elif board_id in kept_identity:
                row_id, date_added = kept_identity[board_id]
                conn.execute(
                    "INSERT INTO snap_boards (id, chassis, slot, serial_number, mac_address,"
                    " ip_address, feng_id, notes, date_added, date_modified)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (row_id, *values, date_added, stamp),
                )
                updated += 1
            else:
                unchanged += 1
    if loaded + updated:
        announce(conn, Change(PARTS_DB, "load-snap-boards", loaded + updated))
    return LoadReport(loaded, updated, unchanged)
