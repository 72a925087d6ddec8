"""What a merge reports, and the small value helpers every part of the merge shares.

The public names (:class:`Conflict`, :class:`MergeReport`, :class:`MergeError`) are
re-exported by :mod:`casman.sync.merge`; they live here so the table and log helpers can
build conflicts without importing the module that drives them.
"""

from __future__ import annotations

from dataclasses import dataclass

from casman.errors import CasmanError

Row = tuple[object, ...]
"""One database row as SQLite returned it (``None``, int, float, str or bytes values)."""

SortKey = tuple[int, object]

LOCAL = "local"
REMOTE = "remote"
BOTH = "both sites"
BASE = "base"


class MergeError(CasmanError):
    """The merge could not be made (unreadable input, output already there); nothing was
    written."""


@dataclass(frozen=True)
class Conflict:
    """One clash between the two sites, kept as data so nothing is dropped silently."""

    database: str  # "parts.db" or "assembled_casm.db"
    kind: str  # "part", "antenna_position", "snap_board", "grid_position", "connection"
    key: str  # what clashed: part number, antenna number / grid code, board name, part
    kept: str  # the value kept in the merge, and from which side
    other: str  # the other value, kept in this report
    detail: str  # one line a technician understands, with how to resolve it


@dataclass
class MergeReport:
    """What a three-way merge of one database did."""

    database: str
    local_changes: int  # rows/events the local side added, changed or deleted since base
    remote_changes: int
    conflicts: list[Conflict]


@dataclass
class MergedContent:
    """The rows to write (full rows, ``id`` included, in insert order) and what happened."""

    tables: dict[str, list[Row]]
    local_changes: int
    remote_changes: int
    conflicts: list[Conflict]


def sort_key(value: object) -> SortKey:
    """Order values exactly as SQLite's ``ORDER BY`` does: NULL < numbers < text < blob.

    Text compares by code point, which is the byte order of its UTF-8 form (SQLite's BINARY
    collation). Two values get equal keys only when they are equal, so ordering by this key
    never ties two different rows.
    """
    if value is None:
        return (0, 0)
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, bytes):
        return (3, value)
    return (4, repr(value))


def row_key(row: Row) -> tuple[SortKey, ...]:
    """A total, side-independent order of whole rows (the deterministic last tiebreak)."""
    return tuple(sort_key(value) for value in row)


def shown(value: object) -> str:
    """A stored value as a technician reads it (``—`` for an empty field)."""
    if value is None:
        return "—"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)
