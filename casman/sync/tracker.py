"""The scan tracker: how many changes each database has that are not off-site yet.

``.scan_tracker.json`` in the database directory (the spec's name) keeps, per database, a
change *serial* (every committed change adds its count), the serial the newest off-site
copy includes, and the serial at which the last automatic backup was queued. "Changes since
backup" is the difference of the first two, so nothing is reset until an upload succeeded;
a backup is due again only ``backup_on_scan_count`` changes after the last one was queued.
Written atomically under a file lock: several scanners may share the directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from filelock import FileLock

from casman.config import SyncSettings
from casman.db.schema import DATABASE_NAMES
from casman.domain.timestamps import parse_iso, to_iso
from casman.fileio import atomic_write_bytes

TRACKER_FILE = ".scan_tracker.json"
LOCK_SECONDS = 30
IMMEDIATE_KINDS = frozenset({"parts add"})
"""Changes backed up at once (the spec: "after every part generation")."""


@dataclass
class DatabaseTrack:
    serial: int = 0
    backed_up_serial: int = 0
    queued_serial: int = 0
    first_unsynced_at: str | None = None
    last_backup_at: str | None = None
    last_queued_at: str | None = None

    @property
    def changes_since_backup(self) -> int:
        return max(0, self.serial - self.backed_up_serial)

    def changes_since_queued(self) -> int:
        return max(0, self.serial - max(self.queued_serial, self.backed_up_serial))


@dataclass
class Tracks:
    databases: dict[str, DatabaseTrack] = field(default_factory=dict)

    def of(self, db_name: str) -> DatabaseTrack:
        return self.databases.setdefault(db_name, DatabaseTrack())


def _parse(raw: str) -> Tracks:
    try:
        data = json.loads(raw)
    except ValueError:
        return Tracks()
    tracks = Tracks()
    items = data.get("databases") if isinstance(data, dict) else None
    if not isinstance(items, dict):
        return tracks
    for db_name in DATABASE_NAMES:
        item = items.get(db_name)
        if not isinstance(item, dict):
            continue
        try:
            tracks.databases[db_name] = DatabaseTrack(
                **{k: v for k, v in item.items() if k in DatabaseTrack.__dataclass_fields__}
            )
        except TypeError:
            continue
    return tracks


class ScanTracker:
    """Read-modify-write of the tracker file, always under its lock."""

    def __init__(self, database_dir: Path) -> None:
        self.path = database_dir / TRACKER_FILE
        self._lock = FileLock(str(self.path) + ".lock", timeout=LOCK_SECONDS)

    def read(self) -> Tracks:
        try:
            return _parse(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, OSError):
            return Tracks()

    def update(self, change: Callable[[Tracks], Any]) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            tracks = self.read()
            result = change(tracks)
            body = {"version": 1, "databases": {k: asdict(v) for k, v in tracks.databases.items()}}
            atomic_write_bytes(self.path, json.dumps(body, indent=1).encode("utf-8"))
            return result

    def count(
        self,
        db_name: str,
        kind: str,
        count: int,
        settings: SyncSettings,
        now: datetime,
        queue: bool = True,
    ) -> bool:
        """Record a committed change; True when an automatic backup of ``db_name`` is due
        (it is then marked queued, so the next one is due ``backup_on_scan_count`` later).
        With ``queue`` False (automatic backups off) the change is only counted."""

        def change(tracks: Tracks) -> bool:
            track = tracks.of(db_name)
            track.serial += max(1, count)
            if track.first_unsynced_at is None:
                track.first_unsynced_at = to_iso(now)
            if not queue or not is_due(track, settings, now, immediate=kind in IMMEDIATE_KINDS):
                return False
            track.queued_serial = track.serial
            track.last_queued_at = to_iso(now)
            return True

        return bool(self.update(change))

    def backed_up(self, db_name: str, serial: int, now: datetime) -> None:
        """The changes up to ``serial`` are off-site (an upload succeeded)."""
        known = self.read().of(db_name)
        if serial <= known.backed_up_serial and (
            known.first_unsynced_at is None or known.backed_up_serial < known.serial
        ):
            return  # nothing new is off-site: a no-op sync writes nothing

        def change(tracks: Tracks) -> None:
            track = tracks.of(db_name)
            if serial >= track.backed_up_serial:
                track.backed_up_serial = serial
                track.last_backup_at = to_iso(now)
            if track.backed_up_serial >= track.serial:
                track.first_unsynced_at = None

        self.update(change)

    def serial(self, db_name: str) -> int:
        return self.read().of(db_name).serial


def is_due(track: DatabaseTrack, settings: SyncSettings, now: datetime, immediate: bool) -> bool:
    """The spec's triggers: part generation, every N changes, or H hours with changes."""
    pending = track.changes_since_queued()
    if pending <= 0:
        return False
    if immediate:
        return True
    if settings.backup_on_scan_count and pending >= settings.backup_on_scan_count:
        return True
    if settings.backup_on_hours:
        since = track.last_backup_at or track.first_unsynced_at
        if since is not None:
            return now - parse_iso(since) >= timedelta(hours=settings.backup_on_hours)
    return False


@dataclass(frozen=True)
class Staleness:
    """What ``sync status`` and the stale-copy warning show for one database."""

    db_name: str
    changes_since_backup: int
    changes_until_backup: int | None
    hours_until_backup: float | None
    last_backup_at: str | None
    age_hours: float | None


def staleness(database_dir: Path, settings: SyncSettings, now: datetime) -> list[Staleness]:
    tracks = ScanTracker(database_dir).read()
    found = []
    for db_name in DATABASE_NAMES:
        track = tracks.of(db_name)
        until: int | None = None
        if settings.backup_on_scan_count:
            until = max(0, settings.backup_on_scan_count - track.changes_since_queued())
        hours: float | None = None
        since = track.last_backup_at or track.first_unsynced_at
        if settings.backup_on_hours and since is not None and track.changes_since_backup:
            elapsed = (now - parse_iso(since)).total_seconds() / 3600
            hours = max(0.0, settings.backup_on_hours - elapsed)
        age = None
        if track.last_backup_at is not None:
            age = (now - parse_iso(track.last_backup_at)).total_seconds() / 3600
        found.append(
            Staleness(
                db_name,
                track.changes_since_backup,
                until,
                hours,
                track.last_backup_at,
                age,
            )
        )
    return found


def stale_warning(database_dir: Path, settings: SyncSettings, now: datetime) -> str | None:
    """One line when local changes wait and the newest off-site copy is too old."""
    if not settings.enabled or not settings.stale_after_hours:
        return None
    for item in staleness(database_dir, settings, now):
        if not item.changes_since_backup:
            continue
        if item.age_hours is None:
            tracks = ScanTracker(database_dir).read().of(item.db_name)
            first = tracks.first_unsynced_at
            waiting = (now - parse_iso(first)).total_seconds() / 3600 if first else 0.0
            if waiting < settings.stale_after_hours:
                continue
            return (
                f"Warning: {item.changes_since_backup} change(s) to {item.db_name} have never "
                "been backed up off-site; run `casman sync push` (or check the link)"
            )
        if item.age_hours >= settings.stale_after_hours:
            return (
                f"Warning: the newest off-site copy of {item.db_name} is "
                f"{item.age_hours:.0f} h old and {item.changes_since_backup} change(s) wait; "
                "run `casman sync push` (or check the link)"
            )
    return None
