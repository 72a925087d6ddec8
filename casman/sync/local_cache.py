"""Knowing a database is unchanged without reading it: a fingerprint cache keyed on stat.

A no-op ``sync`` must not snapshot and hash the whole database every time (at 100× that is
most of its cost). The fingerprint computed last time is reused while the database file and
its ``-wal`` have the same size, modification time and inode as when it was computed —
every committed write changes one of them (WAL frames are appended; a checkpoint rewrites
the database file). Like git's index, an entry is only stored when the files were last
modified more than a second before it was computed: a write within the clock's granularity
of the computation could otherwise leave the same timestamp. A miss only costs computing
again; a hit is only possible for files nobody wrote since.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from casman.fileio import atomic_write_bytes

CACHE_FILE = ".casman_fingerprints.json"
RACY_NS = 1_000_000_000


@dataclass(frozen=True)
class CachedState:
    stat: list[int]
    sha256: str
    fingerprint: str
    records: int


def file_stat(path: Path) -> list[int]:
    """Size, mtime (ns) and inode of the database and its WAL (zeros when absent)."""
    values: list[int] = []
    for candidate in (path, path.with_name(path.name + "-wal")):
        try:
            info = os.stat(candidate)
        except FileNotFoundError:
            values += [0, 0, 0]
            continue
        values += [info.st_size, info.st_mtime_ns, info.st_ino]
    return values


def _read(database_dir: Path) -> dict[str, object]:
    try:
        data = json.loads((database_dir / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached(database_dir: Path, db_name: str, stat: list[int]) -> CachedState | None:
    entry = _read(database_dir).get(db_name)
    if not isinstance(entry, dict):
        return None
    try:
        state = CachedState(**entry)
    except TypeError:
        return None
    return state if state.stat == stat else None


def remember(database_dir: Path, db_name: str, state: CachedState) -> None:
    """Store ``state`` unless its files were modified within the last second (racy)."""
    newest_mtime = max(state.stat[1], state.stat[4])
    if time.time_ns() - newest_mtime < RACY_NS:
        return
    data = _read(database_dir)
    data[db_name] = asdict(state)
    with contextlib.suppress(OSError):  # read-only media: computed again next time
        atomic_write_bytes(database_dir / CACHE_FILE, json.dumps(data).encode("utf-8"))
