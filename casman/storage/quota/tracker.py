"""The quota tracker file: one JSON document per backend, changed only under its lock.

Several casman processes (a scanner station, a cron backup) may share one database folder
and so one tracker. Every change is a read-modify-write inside a file lock, written to a
temp file and renamed, so a crash leaves the old or the new file and no count is lost.

Every change is applied when its request has been answered, and answers from different
processes reach the tracker in any order. A delete answered before another process's
upload of the same key (a freed backup name taken again) can be recorded after that
upload, and a listing taken before an upload can be applied after it: either would erase
an object that is stored. So the file keeps a change ``sequence``, each recorded upload
notes it for its key (``written``), and a delete or a listing removes a key only if no
upload of it was recorded after the delete or listing began. When the order is unknown
the object stays counted: the quota errs on the side of blocking early, and the next
reconciling listing corrects it.

The monthly counters follow the newest time ever recorded in the file, not the clock of
the moment: a clock that goes back (a machine whose RTC lost a battery, NTP stepping the
time) must not hand out a fresh month of requests. The month rolls over only when the
newest time moves into a later UTC month.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import filelock

from casman.storage.backend import ObjectInfo
from casman.storage.errors import StorageError
from casman.storage.operations import BackendHandle
from casman.storage.quota.limits import QuotaUsage, cost_model, limits_for, percentages

log = logging.getLogger("casman.quota")

LOCK_TIMEOUT_SECONDS = 30.0
TRACKER_VERSION = 3
"""2 added ``newest``, 3 ``sequence`` and ``written``; an older file is read and upgraded on
its next write (older casman versions ignore the two new fields)."""

EventKind = Literal["backup", "restore"]
PENDING_EXPIRY = timedelta(hours=24)
"""A storage reservation older than this (by the tracker's newest time) belonged to a process
that died mid-upload: it is dropped so that it does not hold storage forever."""

TrackerData = dict[str, Any]
"""The tracker's JSON object: version, month, newest, class_* counters, backups, restores,
``objects`` (bytes stored per key), ``pending`` (uploads in flight: id -> key, bytes, at),
``sequence`` (counts recorded uploads) and ``written`` (per stored key, the ``sequence`` at
which its latest upload was recorded)."""

_MONTH = re.compile(r"\d{4}-\d{2}")


def current_time() -> datetime:
    """``casman.storage.quota.now()`` looked up at each call, in UTC.

    Looked up through the package so that patching ``casman.storage.quota.now`` (tests
    crossing a month boundary, or winding the clock back) moves every clock reading.
    """
    from casman.storage import quota

    return quota.now().astimezone(UTC)


def month_of(at: datetime) -> str:
    """The UTC month ("2026-03") ``at`` falls in."""
    return at.astimezone(UTC).strftime("%Y-%m")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def _parse_time(value: object) -> datetime | None:
    """An aware datetime from the tracker's ``newest``; None if absent or not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def tracker_path(handle: BackendHandle) -> Path:
    """``.r2_quota_tracker.json`` (the spec's name) for r2, ``.{name}_quota_tracker.json``."""
    return Path(handle.state_dir) / f".{handle.name}_quota_tracker.json"


def fresh(at: datetime) -> TrackerData:
    """An empty tracker whose month and newest time are ``at``'s."""
    return {
        "version": TRACKER_VERSION,
        "month": month_of(at),
        "newest": _iso(at),
        "class_a": 0,
        "class_b": 0,
        "backups": 0,
        "restores": 0,
        "objects": {},
        "pending": {},
        "sequence": 0,
        "written": {},
    }


def _valid(data: object) -> bool:
    """Whether ``data`` has the tracker's shape; anything else is set aside, not trusted."""
    if not isinstance(data, dict):
        return False
    month = data.get("month")
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        return False
    if not isinstance(data.get("objects"), dict):
        return False
    if "newest" in data and _parse_time(data["newest"]) is None:
        return False
    pending = data.get("pending", {})
    if not isinstance(pending, dict) or not all(_valid_pending(v) for v in pending.values()):
        return False
    if not _count(data.get("sequence", 0)):
        return False
    written = data.get("written", {})
    if not isinstance(written, dict) or not all(_count(v) for v in written.values()):
        return False
    counters_ok = all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in data.items()
        if k.startswith("class_") or k in ("backups", "restores")
    )
    sizes_ok = all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in data["objects"].items()
    )
    return counters_ok and sizes_ok


def _count(value: object) -> bool:
    """A JSON integer >= 0 (not a bool, which Python counts as an int)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _valid_pending(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    size = entry.get("bytes")
    return (
        isinstance(entry.get("key"), str)
        and isinstance(size, int)
        and not isinstance(size, bool)
        and size >= 0
        and _parse_time(entry.get("at")) is not None
    )


def advance(data: TrackerData, at: datetime) -> None:
    """Record ``at`` as the newest time if it is later; roll the month over if it moved on.

    A time earlier than the newest recorded changes nothing: the counters stay those of
    the newest month seen. Storage is what is stored now, so it never resets; storage
    reservations older than :data:`PENDING_EXPIRY` are dropped.
    """
    newest = _parse_time(data.get("newest"))
    if newest is None or at > newest:
        newest = at
        data["newest"] = _iso(at)
    pending: dict[str, Any] = data.get("pending", {})
    data["pending"] = {
        ident: entry
        for ident, entry in pending.items()
        if newest - (_parse_time(entry["at"]) or newest) <= PENDING_EXPIRY
    }
    month = month_of(newest)
    if month > data["month"]:  # "YYYY-MM" strings sort as the months do
        rolled = fresh(newest)
        for kept in ("objects", "pending", "sequence", "written"):
            rolled[kept] = data.get(kept, rolled[kept])
        data.clear()
        data.update(rolled)
    data["version"] = TRACKER_VERSION


def _set_aside(path: Path, reason: str) -> None:
    """Keep an unreadable tracker for inspection instead of silently losing it."""
    stamp = current_time().strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    os.replace(path, aside)
    log.warning(
        "quota tracker %s was unreadable (%s); moved it to %s and started counting afresh",
        path,
        reason,
        aside.name,
    )


def load(path: Path) -> TrackerData:
    """Read the tracker (the caller holds the lock), brought up to the current time."""
    at = current_time()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return fresh(at)
    except OSError as error:
        _set_aside(path, error.strerror or type(error).__name__)
        return fresh(at)
    try:
        data: Any = json.loads(raw)
    except ValueError:
        _set_aside(path, "not valid JSON")
        return fresh(at)
    if not _valid(data):
        _set_aside(path, "unexpected content")
        return fresh(at)
    result: TrackerData = dict(data)
    result.setdefault("sequence", 0)
    result.setdefault("written", {})
    advance(result, at)
    return result


def sequence_of(data: Mapping[str, Any]) -> int:
    """The tracker's change sequence now: a mark that later recorded uploads pass."""
    return int(data.get("sequence", 0))


def record_stored(data: TrackerData, key: str, size: int) -> None:
    """An upload of ``key`` was answered: its size is stored, noted at a new sequence."""
    data["sequence"] = sequence_of(data) + 1
    data["objects"][key] = size
    data.setdefault("written", {})[key] = data["sequence"]


def written_since(data: Mapping[str, Any], key: str, mark: int) -> bool:
    """Whether an upload of ``key`` was recorded after ``mark`` (see the module's note)."""
    return int(data.get("written", {}).get(key, 0)) > mark


def forget_stored(data: TrackerData, key: str, mark: int | None) -> None:
    """``key`` is gone as of ``mark``: drop it unless an upload was recorded since."""
    if mark is not None and written_since(data, key, mark):
        return
    data["objects"].pop(key, None)
    data.setdefault("written", {}).pop(key, None)


def write_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Temp file in the same folder, fsync, rename: a crash leaves the old or the new file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


class Tracker:
    """Read-modify-write of one tracker file, always under its sibling ``.lock`` file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = filelock.FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS)

    def _locked(self) -> filelock.BaseFileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self._lock

    def read(self) -> TrackerData:
        """The tracker's content now, read under the lock (nothing is written)."""
        try:
            with self._locked():
                return load(self.path)
        except filelock.Timeout:
            raise self._timeout() from None

    def update(self, change: Callable[[TrackerData], None]) -> TrackerData:
        """Apply ``change(data)`` in place and write the result, all inside the lock.

        If ``change`` raises, nothing is written: the file stays as it was.
        """
        try:
            with self._locked():
                data = load(self.path)
                change(data)
                write_atomic(self.path, data)
                return data
        except filelock.Timeout:
            raise self._timeout() from None

    def _timeout(self) -> StorageError:
        return StorageError(
            f"quota tracker {self.path} stayed locked for {LOCK_TIMEOUT_SECONDS:.0f}s; "
            f"another casman process may be stuck (remove {self.path.name}.lock if not)",
            request_sent=False,
        )


def tracker_for(handle: BackendHandle) -> Tracker:
    return Tracker(tracker_path(handle))


def pending_bytes(data: Mapping[str, Any]) -> int:
    """Bytes reserved by uploads in flight (any process sharing the tracker)."""
    return sum(int(entry["bytes"]) for entry in data.get("pending", {}).values())


def usage_of(handle: BackendHandle, data: Mapping[str, Any]) -> QuotaUsage:
    """``data`` (a tracker's content) as usage against ``handle``'s limits."""
    limits, _ = limits_for(handle)
    storage = sum(data["objects"].values())
    counters = {k: int(v) for k, v in data.items() if k.startswith("class_")}
    return QuotaUsage(
        backend=handle.name,
        label=cost_model(handle).label or f"{handle.name.upper()} Quota",
        month=str(data["month"]),
        storage_bytes=storage,
        class_a=counters.get("class_a", 0),
        class_b=counters.get("class_b", 0),
        backups=int(data.get("backups", 0)),
        restores=int(data.get("restores", 0)),
        limits=limits,
        percentages=percentages(storage, counters, limits),
    )


def usage(handle: BackendHandle) -> QuotaUsage:
    """The tracked usage of ``handle`` this month (see the module's note on months)."""
    return usage_of(handle, tracker_for(handle).read())


def record_event(handle: BackendHandle, event: EventKind) -> None:
    """Count a finished backup or restore for the monthly "this month" lines."""
    if event not in ("backup", "restore"):
        raise ValueError(f"unknown quota event {event!r}; use 'backup' or 'restore'")
    name = "backups" if event == "backup" else "restores"

    def change(data: TrackerData) -> None:
        data[name] = int(data.get(name, 0)) + 1

    tracker_for(handle).update(change)


def listing_mark(handle: BackendHandle) -> int:
    """Take this before listing for :func:`reconcile_storage`: uploads recorded after it
    are newer than the listing, which therefore cannot remove them."""
    return sequence_of(tracker_for(handle).read())


def reconcile_storage(
    handle: BackendHandle, objects: Iterable[ObjectInfo], prefix: str, mark: int
) -> int:
    """Replace the tracked sizes under ``prefix`` with a full listing of it; return bytes.

    ``mark`` is :func:`listing_mark` taken before the listing began. The tracker only sees
    what this machine sent; another machine's uploads and deletes reach it through this.
    An upload recorded after ``mark`` (by any process sharing the tracker) is newer than
    the listing: it stays, at its recorded size, whether the listing saw it or not.
    """
    listed = {info.key: int(info.size) for info in objects}

    def change(data: TrackerData) -> None:
        kept = {
            key: size
            for key, size in data["objects"].items()
            if not key.startswith(prefix) or written_since(data, key, mark)
        }
        for key, size in listed.items():
            if not written_since(data, key, mark):
                kept[key] = size
        data["objects"] = kept
        data["written"] = {k: v for k, v in data.get("written", {}).items() if k in kept}

    data = tracker_for(handle).update(change)
    return int(sum(data["objects"].values()))
