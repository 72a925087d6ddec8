"""Which merge conflicts still need a person, read from local state only (works offline).

Every merge records its conflicts in the version it publishes; each sync keeps a copy of
those of the versions the head still lists in the sync state. A *connection* conflict is
resolved by an ordinary disconnect, so it counts as open only while the part it names still
has more than one active link in the live database; the other kinds (a part number created
twice, a row changed at two sites) stay listed for review until their version leaves the
head.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

from casman.sync.state import SyncState

CONNECTION = "connection"


def head_conflicts(versions: Iterable[object]) -> list[dict[str, str]]:
    """The conflicts recorded in a head's versions, each tagged with its version."""
    found = []
    for version in versions:
        key = getattr(version, "key", "")
        for conflict in getattr(version, "conflicts", ()):
            found.append({**dict(conflict), "version": str(key)})
    return found


def still_open(conn: sqlite3.Connection, conflict: Mapping[str, str]) -> bool:
    if conflict.get("kind") != CONNECTION:
        return True
    from casman.db.assembly import active_link_counts  # only when a conflict exists

    outgoing, incoming = active_link_counts(conn, conflict.get("key", ""))
    return outgoing > 1 or incoming > 1


def open_conflicts(database_dir: Path, conn: sqlite3.Connection) -> list[dict[str, str]]:
    """Recorded conflicts that are not resolved in the live database ``conn`` reads."""
    return [c for c in SyncState(database_dir).conflicts() if still_open(conn, c)]
