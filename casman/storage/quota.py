"""Quota enforcement around every remote call (R2's free tier by default).

The wrapper counts the requests actually sent, per billing class of the backend's cost
model, and keeps the bytes stored now (per key, so deletes reduce it). It warns at 80 % and
blocks at 95 % *before* the request is sent, so a user never passes the free tier by
accident. The tracker is a small JSON file in the backend's state folder, rewritten
atomically under a file lock because several casman processes (a scanner station, a cron
backup) may share one database folder.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import filelock

from casman.storage.backend import CostModel, ObjectInfo
from casman.storage.errors import (
    BackendConfigError,
    BackendUnavailableError,
    InvalidKeyError,
    QuotaExceededError,
    StorageError,
)
from casman.storage.hookspecs import hookimpl
from casman.storage.operations import BackendHandle, StorageOp

log = logging.getLogger("casman.quota")

WARN_PERCENT = 80.0
BLOCK_PERCENT = 95.0
BYTES_PER_GB = 1000**3
"""Decimal GB: the smaller unit, so the limit in bytes errs on the safe side."""
LOCK_TIMEOUT_SECONDS = 30.0
TRACKER_VERSION = 1

EventKind = Literal["backup", "restore"]

_NOT_SENT = (BackendConfigError, BackendUnavailableError, InvalidKeyError, QuotaExceededError)
"""Failures that happen before a request reaches the server: nothing is billed."""

_warned: set[tuple[str, str]] = set()
"""(tracker path, resource) already warned about in this process: warn once, not per call."""


def now() -> datetime:
    """The current UTC time; tests monkeypatch this to cross a month boundary."""
    return datetime.now(UTC)


def _month(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m")


# --- limits and classes --------------------------------------------------------------


def _cost_model(handle: BackendHandle) -> CostModel:
    return handle.spec.capabilities.cost_model


def limits_for(handle: BackendHandle) -> tuple[dict[str, float], bool]:
    """The limits in force and whether they are the cost model's defaults.

    ``<backend>: {quota: {...}}`` in the config replaces the defaults entirely (any subset
    of storage_gb, class_a, class_b); a limit of 0 or less means "not enforced".
    """
    configured = handle.settings.get("quota")
    source: Mapping[str, Any]
    if isinstance(configured, Mapping) and configured:
        source, default = configured, False
    else:
        source, default = _cost_model(handle).default_limits, True
    limits: dict[str, float] = {}
    for name, value in source.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BackendConfigError(
                f"quota limit {name}={value!r} for backend {handle.name} is not a number"
            ) from None
        if number > 0:
            limits[str(name)] = number
    return limits, default


def _counter_name(billing_class: str) -> str:
    return f"class_{billing_class.lower()}"


def billing_class(handle: BackendHandle, kind: str) -> str | None:
    """The billing class ("A", "B") of an operation kind, or None when it is free."""
    return _cost_model(handle).classes.get(kind)


def estimate(handle: BackendHandle, kinds: list[str]) -> dict[str, int]:
    """How many requests of each billing class ``kinds`` would cost (for ``--dry-run``)."""
    counts: dict[str, int] = {}
    for kind in kinds:
        cls = billing_class(handle, kind)
        if cls is not None:
            counts[cls] = counts.get(cls, 0) + 1
    return counts


# --- the tracker file ---------------------------------------------------------------


def tracker_path(handle: BackendHandle) -> Path:
    """``.r2_quota_tracker.json`` (the spec's name) for r2, ``.{name}_quota_tracker.json``."""
    return Path(handle.state_dir) / f".{handle.name}_quota_tracker.json"


def _fresh(month: str) -> dict[str, Any]:
    return {
        "version": TRACKER_VERSION,
        "month": month,
        "class_a": 0,
        "class_b": 0,
        "backups": 0,
        "restores": 0,
        "objects": {},
    }


def _valid(data: object) -> bool:
    if not isinstance(data, dict):
        return False
    if not isinstance(data.get("month"), str) or not isinstance(data.get("objects"), dict):
        return False
    counters_ok = all(
        isinstance(v, int) and not isinstance(v, bool)
        for k, v in data.items()
        if k.startswith("class_") or k in ("backups", "restores")
    )
    sizes_ok = all(
        isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in data["objects"].items()
    )
    return counters_ok and sizes_ok


def _set_aside(path: Path, reason: str) -> None:
    """Keep an unreadable tracker for inspection instead of silently losing it."""
    stamp = now().strftime("%Y%m%dT%H%M%S")
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


def _load(path: Path) -> dict[str, Any]:
    """Read the tracker (caller holds the lock); roll monthly counters over if needed."""
    month = _month(now())
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _fresh(month)
    except OSError as error:
        _set_aside(path, error.strerror or type(error).__name__)
        return _fresh(month)
    try:
        data: Any = json.loads(raw)
    except ValueError:
        _set_aside(path, "not valid JSON")
        return _fresh(month)
    if not _valid(data):
        _set_aside(path, "unexpected content")
        return _fresh(month)
    if data["month"] != month:
        objects = data["objects"]
        data = _fresh(month)
        data["objects"] = objects  # storage is what is stored now: it does not reset
    return dict(data)


def _write_atomic(path: Path, data: Mapping[str, Any]) -> None:
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


class _Tracker:
    """Read-modify-write of one tracker file, always under its sibling ``.lock`` file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = filelock.FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS)

    def _locked(self) -> filelock.BaseFileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self._lock

    def read(self) -> dict[str, Any]:
        try:
            with self._locked():
                return _load(self.path)
        except filelock.Timeout:
            raise self._timeout() from None

    def update(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Apply ``change(data)`` in place and write the result, all inside the lock."""
        try:
            with self._locked():
                data = _load(self.path)
                change(data)
                _write_atomic(self.path, data)
                return data
        except filelock.Timeout:
            raise self._timeout() from None

    def _timeout(self) -> StorageError:
        return StorageError(
            f"quota tracker {self.path} stayed locked for {LOCK_TIMEOUT_SECONDS:.0f}s; "
            f"another casman process may be stuck (remove {self.path.name}.lock if not)"
        )


def _tracker(handle: BackendHandle) -> _Tracker:
    return _Tracker(tracker_path(handle))


# --- usage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaUsage:
    """A snapshot of one backend's tracked usage against its limits.

    ``percentages`` holds storage / class_a / class_b only for the resources with a limit.
    """

    backend: str
    label: str
    month: str
    storage_bytes: int
    class_a: int
    class_b: int
    backups: int
    restores: int
    limits: Mapping[str, float] = field(default_factory=dict)
    percentages: Mapping[str, float] = field(default_factory=dict)

    @property
    def storage_gb(self) -> float:
        return self.storage_bytes / BYTES_PER_GB


def _percentages(
    storage_bytes: int, counters: Mapping[str, int], limits: Mapping[str, float]
) -> dict[str, float]:
    result: dict[str, float] = {}
    if "storage_gb" in limits:
        result["storage"] = 100.0 * storage_bytes / (limits["storage_gb"] * BYTES_PER_GB)
    for name, value in counters.items():
        if name in limits:
            result[name] = 100.0 * value / limits[name]
    return result


def _usage_from(handle: BackendHandle, data: Mapping[str, Any]) -> QuotaUsage:
    limits, _ = limits_for(handle)
    storage = sum(data["objects"].values())
    counters = {k: int(v) for k, v in data.items() if k.startswith("class_")}
    return QuotaUsage(
        backend=handle.name,
        label=_cost_model(handle).label or f"{handle.name.upper()} Quota",
        month=str(data["month"]),
        storage_bytes=storage,
        class_a=counters.get("class_a", 0),
        class_b=counters.get("class_b", 0),
        backups=int(data.get("backups", 0)),
        restores=int(data.get("restores", 0)),
        limits=limits,
        percentages=_percentages(storage, counters, limits),
    )


def usage(handle: BackendHandle) -> QuotaUsage:
    """The tracked usage of ``handle`` this month (counters roll over at the UTC month)."""
    return _usage_from(handle, _tracker(handle).read())


def record_event(handle: BackendHandle, event: EventKind) -> None:
    """Count a finished backup or restore for the monthly "this month" lines."""
    if event not in ("backup", "restore"):
        raise ValueError(f"unknown quota event {event!r}; use 'backup' or 'restore'")
    name = "backups" if event == "backup" else "restores"

    def change(data: dict[str, Any]) -> None:
        data[name] = int(data.get(name, 0)) + 1

    _tracker(handle).update(change)


def reconcile_storage(handle: BackendHandle, objects: Iterable[ObjectInfo], prefix: str) -> int:
    """Replace the tracked sizes under ``prefix`` with a full listing of it; return bytes.

    The tracker only sees what this machine sent; another machine's uploads and deletes
    reach it through this (``sync status`` / ``maintain`` list anyway).
    """
    listed = {info.key: int(info.size) for info in objects}

    def change(data: dict[str, Any]) -> None:
        kept = {k: v for k, v in data["objects"].items() if not k.startswith(prefix)}
        kept.update(listed)
        data["objects"] = kept

    data = _tracker(handle).update(change)
    return int(sum(data["objects"].values()))


# --- rendering -----------------------------------------------------------------------


def _symbol(percent: float) -> str:
    if percent >= BLOCK_PERCENT:
        return "✗"
    if percent >= WARN_PERCENT:
        return "⚠"
    return "✓"


def _line(name: str, value: str) -> str:
    return f"  {name:<22}{value}"


def format_usage(usage: QuotaUsage) -> list[str]:
    """The spec's "Quota Usage" block, one string per line (✓ <80 %, ⚠ 80–95 %, ✗ ≥95 %)."""
    lines = [f"{usage.label} Quota Usage:" if usage.label else "Quota Usage:"]
    if "storage_gb" in usage.limits:
        pct = usage.percentages["storage"]
        limit = usage.limits["storage_gb"]
        value = f"{_symbol(pct)} {usage.storage_gb:.2f} / {limit:g} GB ({pct:.1f}%)"
    else:
        value = f"{usage.storage_gb:.2f} GB (no limit)"
    lines.append(_line("Storage:", value))
    for name, title, count in (
        ("class_a", "Class A Ops (writes):", usage.class_a),
        ("class_b", "Class B Ops (reads):", usage.class_b),
    ):
        if name in usage.limits:
            pct = usage.percentages[name]
            value = f"{_symbol(pct)} {count:,} / {usage.limits[name]:,.0f} ({pct:.1f}%)"
        else:
            value = f"{count:,} (no limit)"
        lines.append(_line(title, value))
    lines.append(_line("Backups this month:", str(usage.backups)))
    lines.append(_line("Restores this month:", str(usage.restores)))
    return lines


def _summary(usage: QuotaUsage) -> str:
    if "storage_gb" in usage.limits:
        storage = f"Storage: {usage.storage_gb:.2f}/{usage.limits['storage_gb']:g} GB"
    else:
        storage = f"Storage: {usage.storage_gb:.2f} GB"
    parts = [storage]
    for name, title, count in (
        ("class_a", "Class A", usage.class_a),
        ("class_b", "Class B", usage.class_b),
    ):
        limit = usage.limits.get(name)
        parts.append(f"{title}: {count:,}/{limit:,.0f}" if limit else f"{title}: {count:,}")
    return ", ".join(parts)


# --- the wrapper ---------------------------------------------------------------------


def _resource_title(resource: str) -> str:
    if resource == "storage":
        return "Storage"
    return f"Class {resource.removeprefix('class_').upper()} operations"


def _check(handle: BackendHandle, op: StorageOp, data: Mapping[str, Any]) -> None:
    """Raise QuotaExceededError if ``op`` must not be sent; warn once at 80 %."""
    current = _usage_from(handle, data)
    limits, default = limits_for(handle)
    blocked: tuple[str, float, bool] | None = None  # resource, percent, "would reach"
    cls = billing_class(handle, op.kind)
    if cls is not None:
        counter = _counter_name(cls)
        pct = current.percentages.get(counter)
        if pct is not None and pct >= BLOCK_PERCENT:
            blocked = (counter, pct, False)
    if blocked is None and op.kind == "put" and "storage_gb" in limits:
        size = len(op.body or b"")
        after = current.storage_bytes - int(data["objects"].get(op.key, 0)) + size
        pct = 100.0 * after / (limits["storage_gb"] * BYTES_PER_GB)
        if pct >= BLOCK_PERCENT:
            blocked = ("storage", pct, current.percentages.get("storage", 0.0) < BLOCK_PERCENT)
    if blocked is None:
        return
    resource, pct, would = blocked
    prefix = handle.name.upper()
    what = "the free tier" if default else "the configured quota"
    amount = (
        f"this upload would bring Storage to {pct:.1f}%"
        if would
        else f"{pct:.1f}% of {_resource_title(resource)} used"
    )
    raise QuotaExceededError(
        f"{prefix} quota limit reached: {amount}; operation '{op.purpose or op.kind}' "
        f"blocked to prevent exceeding {what} ({_summary(current)})"
    )


def _warn(handle: BackendHandle, data: Mapping[str, Any]) -> None:
    current = _usage_from(handle, data)
    key_base = str(tracker_path(handle))
    for resource, pct in current.percentages.items():
        if pct >= WARN_PERCENT and (key_base, resource) not in _warned:
            _warned.add((key_base, resource))
            log.warning(
                "%s quota: %.1f%% of %s used this month (%s); casman blocks at %.0f%%",
                handle.name,
                pct,
                _resource_title(resource),
                _summary(current),
                BLOCK_PERCENT,
            )


def _reached_server(error: BaseException) -> bool:
    """Whether a failed request was (probably) billed.

    A 412 and a 404 are answered by the server and billed. Backends may mark an error with
    ``request_sent = False`` when they refused it locally; otherwise count it, erring on
    the side of the quota.
    """
    if isinstance(error, _NOT_SENT):
        return False
    return bool(getattr(error, "request_sent", True))


def _record(handle: BackendHandle, op: StorageOp, succeeded: bool) -> dict[str, Any]:
    cls = billing_class(handle, op.kind)

    def change(data: dict[str, Any]) -> None:
        if cls is not None:
            counter = _counter_name(cls)
            data[counter] = int(data.get(counter, 0)) + 1
        if not succeeded:
            return
        objects: dict[str, int] = data["objects"]
        if op.kind == "put":
            objects[op.key] = len(op.body or b"")
        elif op.kind == "delete":
            objects.pop(op.key, None)

    return _tracker(handle).update(change)


class _DryRun:
    """Returned instead of a result for a dry-run op so the chain stops before the core."""


_DRY_RUN = _DryRun()


class QuotaPlugin:
    """Built-in plugin: counts and limits every remote call by the backend's cost model."""

    @hookimpl(wrapper=True)
    def casman_storage_op(
        self, backend: BackendHandle, op: StorageOp
    ) -> Generator[None, object, object]:
        limits, _ = limits_for(backend)
        if op.dry_run:
            result = yield
            return None if result is _DRY_RUN else result
        if not limits:
            return (yield)
        tracker = _tracker(backend)
        _check(backend, op, tracker.read())
        try:
            result = yield
        except BaseException as error:
            if _reached_server(error):
                _warn(backend, _record(backend, op, succeeded=False))
            raise
        _warn(backend, _record(backend, op, succeeded=True))
        return result

    @hookimpl(tryfirst=True, specname="casman_storage_op")
    def stop_dry_run(self, backend: BackendHandle, op: StorageOp) -> object:
        """A dry-run op is neither sent nor counted: stop the chain before the core."""
        return _DRY_RUN if op.dry_run else None
