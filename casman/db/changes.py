"""Committed changes, announced once each: what automatic backups (and anything else) hang on.

Every writer in :mod:`casman.db` names its change when it opens its transaction
(:func:`casman.db.connection.write_transaction`); after the ``COMMIT`` succeeds the change is
passed to the listeners subscribed here. The db layer knows nothing of plugins: the program
that uses it (the CLI) subscribes a listener that fires the ``casman_after_change`` hook. A
listener that fails is logged and never fails the committed change.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("casman.db")


@dataclass(frozen=True)
class Change:
    """One committed change: which database, what kind (``connect``, ``parts add``…), how
    many records it touched."""

    db_name: str
    kind: str
    count: int = 1


Listener = Callable[[Path, Change], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> None:
    """Call ``listener(database_dir, change)`` after every committed change (once)."""
    if listener not in _listeners:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def database_dir_of(conn: sqlite3.Connection) -> Path | None:
    """The folder of the connection's main database (None for an in-memory one)."""
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return Path(file).parent if file else None
    return None


def announce(conn: sqlite3.Connection, change: Change) -> None:
    """Tell every listener about ``change``; never raises (the change is committed)."""
    if not _listeners:
        return
    directory = database_dir_of(conn)
    if directory is None:
        return
    for listener in list(_listeners):
        try:
            listener(directory, change)
        except Exception as error:  # a reaction must never undo or fail the change
            log.warning("reaction to %s on %s failed: %s", change.kind, change.db_name, error)
