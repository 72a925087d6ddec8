"""The outbox: due backups that wait, in order, until the backend can take them.

Each entry is a consistent snapshot of one database (a plain SQLite file,
``outbox/{serial}_{db}``) with a small JSON file beside it that is written last, so an entry
is complete or invisible. :func:`flush` publishes the entries oldest first through the same
head compare-and-swap as every other version: while the site's last synced version is still
the head, each snapshot becomes a version on top of the previous one; once another site has
published, the live database (which holds every queued change) is merged with the head
through :func:`casman.sync.converge.converge` instead, and the queue is done. The outbox is
bounded: beyond ``outbox_max_entries`` per database the entries between the oldest and the
newest are dropped first (each snapshot holds everything committed before it, so the newest
alone loses nothing; the oldest is kept as the state the queue started from).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

from casman.db.schema import DATABASE_NAMES
from casman.domain.timestamps import to_iso
from casman.errors import CasmanError
from casman.fileio import atomic_write_bytes, temp_path_beside
from casman.storage.errors import PreconditionFailedError
from casman.sync.context import SyncContext
from casman.sync.converge import _forget, converge, publish, upload_version
from casman.sync.head import load_head
from casman.sync.snapshot import Snapshot, digests, take_snapshot
from casman.sync.state import SyncedVersion
from casman.sync.tracker import ScanTracker

OUTBOX_DIR = "outbox"
LOCK_NAME = ".outbox.lock"
_ENTRY = re.compile(r"^(\d{12})_(.+)\.json$")
log = logging.getLogger("casman.sync")


class OutboxBusyError(CasmanError):
    """Another casman process is uploading the outbox right now."""


@dataclass(frozen=True)
class Entry:
    db_name: str
    serial: int
    taken_at: str
    reason: str
    sha256: str
    fingerprint: str
    records: int
    size: int

    @property
    def stem(self) -> str:
        return f"{self.serial:012d}_{self.db_name}"


def outbox_dir(database_dir: Path) -> Path:
    return database_dir / OUTBOX_DIR


def entries(database_dir: Path, db_name: str | None = None) -> list[Entry]:
    """Complete entries (body and metadata), oldest first."""
    folder = outbox_dir(database_dir)
    if not folder.is_dir():
        return []
    found = []
    for meta in folder.iterdir():
        match = _ENTRY.match(meta.name)
        if not match or not (folder / meta.name.removesuffix(".json")).is_file():
            continue
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            entry = Entry(**data)
        except (OSError, ValueError, TypeError):
            continue
        if entry.db_name in DATABASE_NAMES and (db_name is None or entry.db_name == db_name):
            found.append(entry)
    return sorted(found, key=lambda e: (e.serial, e.db_name))


def _remove(database_dir: Path, entry: Entry) -> None:
    folder = outbox_dir(database_dir)
    (folder / f"{entry.stem}.json").unlink(missing_ok=True)
    (folder / entry.stem).unlink(missing_ok=True)


def enqueue(database_dir: Path, db_name: str, serial: int, reason: str, keep: int) -> Entry:
    """Snapshot the live ``db_name`` into the outbox (body first, metadata last)."""
    folder = outbox_dir(database_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{serial:012d}_{db_name}"
    temp = temp_path_beside(folder / stem, ".snapshot")
    temp.unlink()
    try:
        snapshot = take_snapshot(database_dir / db_name, temp)
        temp.replace(folder / stem)
    finally:
        temp.unlink(missing_ok=True)
    entry = Entry(
        db_name,
        serial,
        to_iso_now(),
        reason[:200],
        snapshot.sha256,
        snapshot.fingerprint,
        snapshot.records,
        snapshot.size,
    )
    atomic_write_bytes(folder / f"{stem}.json", json.dumps(asdict(entry)).encode("utf-8"))
    _bound(database_dir, db_name, keep)
    return entry


def _bound(database_dir: Path, db_name: str, keep: int) -> None:
    queued = entries(database_dir, db_name)
    while len(queued) > max(2, keep):
        _remove(database_dir, queued.pop(1))  # keep the oldest and the newest


def to_iso_now() -> str:
    from casman.domain.timestamps import utc_now

    return to_iso(utc_now())


@contextmanager
def locked(database_dir: Path, wait: float) -> Iterator[None]:
    """The outbox lock (one uploader at a time); OutboxBusyError after ``wait`` seconds."""
    folder = outbox_dir(database_dir)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_NAME), timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise OutboxBusyError("another casman process is uploading the outbox") from None
    try:
        yield
    finally:
        lock.release()


@dataclass
class FlushReport:
    published: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    dropped: int = 0
    remaining: int = 0
    error: str | None = None


def _snapshot_of(database_dir: Path, entry: Entry) -> Snapshot:
    body = (outbox_dir(database_dir) / entry.stem).read_bytes()
    sha, md5 = digests(body)
    if sha != entry.sha256:
        raise CasmanError(f"outbox entry {entry.stem} is damaged (checksum differs); skipped")
    return Snapshot(None, sha, len(body), entry.records, entry.fingerprint, md5, body)


def snapshot_due(context: SyncContext) -> list[Entry]:
    """Queue a snapshot of every database whose automatic backup is due and not queued."""
    tracker = ScanTracker(context.database_dir)
    tracks = tracker.read()
    made = []
    for db_name in DATABASE_NAMES:
        track = tracks.of(db_name)
        newest = max((e.serial for e in entries(context.database_dir, db_name)), default=0)
        wanted = track.queued_serial
        if wanted > max(newest, track.backed_up_serial) and context.db_path(db_name).exists():
            made.append(
                enqueue(
                    context.database_dir,
                    db_name,
                    track.serial,
                    f"automatic backup ({track.changes_since_backup} change(s))",
                    context.config.sync.outbox_max_entries,
                )
            )
    return made


def _publish_entry(context: SyncContext, entry: Entry) -> str | None:
    """Publish one queued snapshot on top of the head; None when the head has moved on."""
    head = load_head(context, entry.db_name)
    synced = context.state.get(context.backend, entry.db_name)
    if head.newest is not None and (synced is None or synced.key != head.newest.key):
        return None
    if head.newest is not None and head.newest.fingerprint == entry.fingerprint:
        return head.newest.key  # already published (by a manual backup, say)
    snapshot = _snapshot_of(context.database_dir, entry)
    parents = [head.newest.key] if head.newest else []
    taken = {v.key for v in head.versions}
    version = upload_version(context, entry.db_name, head, snapshot, entry.reason, parents, taken)
    try:
        publish(context, head, [version])
    except PreconditionFailedError:
        return None
    except CasmanError:
        _forget(context, [version])
        raise
    context.state.record(
        context.backend,
        entry.db_name,
        SyncedVersion(
            sha256=version.sha256,
            key=version.key,
            synced_at=to_iso_now(),
            operation="automatic backup",
            fingerprint=entry.fingerprint,
        ),
    )
    context.record_event("backup")
    return version.key


def flush(context: SyncContext) -> FlushReport:
    """Publish the outbox in order (caller holds :func:`locked`); stops at the first
    failure, leaving what is left queued."""
    report = FlushReport()
    tracker = ScanTracker(context.database_dir)
    now = context.clock
    try:
        for db_name in DATABASE_NAMES:
            for entry in entries(context.database_dir, db_name):
                if entry.serial <= tracker.read().of(db_name).backed_up_serial:
                    # a later state is off-site already (a manual backup or sync): an older
                    # snapshot must never be published on top of it
                    _remove(context.database_dir, entry)
                    report.dropped += 1
                    continue
                key = _publish_entry(context, entry)
                if key is None:
                    serial = tracker.serial(db_name)
                    result = converge(context, db_name, operation=entry.reason, fast_forward=False)
                    if result.published:
                        report.merged.append(result.published)
                    tracker.backed_up(db_name, serial, now())
                    for rest in entries(context.database_dir, db_name):
                        _remove(context.database_dir, rest)
                        report.dropped += 1
                    break
                report.published.append(key)
                tracker.backed_up(db_name, entry.serial, now())
                _remove(context.database_dir, entry)
    except CasmanError as error:
        report.error = str(error)
    report.remaining = len(entries(context.database_dir))
    return report
