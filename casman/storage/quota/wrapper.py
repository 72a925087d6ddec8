"""The quota wrapper: every remote call reserves its cost before it is sent.

Checking the tracker, sending, then recording is two locked steps with the request in
between, so parallel processes all pass the check before any of them records: with
``class_a: 20`` and 16 parallel backups the server saw 25–30 Class A requests. Here the
check and the increment are one step under the tracker's lock (a reservation), taken
before the request leaves, so the limit cannot be passed however many processes share it.

After the call the reservation is settled. Only what provably never reached the server is
released: a request that was sent is billed by R2 whatever the answer (4xx, 5xx, timeout),
so it stays counted. A delete takes the tracker's change sequence before it is sent, so
that settling it cannot erase an upload of the same key that another process recorded in
the meantime (see :mod:`~casman.storage.quota.tracker`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from casman.hookspecs import hookimpl
from casman.storage.errors import (
    QuotaExceededError,
    StorageError,
)
from casman.storage.operations import BackendHandle, StorageOp
from casman.storage.quota.limits import (
    BLOCK_PERCENT,
    BYTES_PER_GB,
    WARN_PERCENT,
    billing_class,
    counter_name,
    limits_for,
    resource_title,
    summary,
)
from casman.storage.quota.tracker import (
    TrackerData,
    forget_stored,
    pending_bytes,
    record_stored,
    sequence_of,
    tracker_for,
    tracker_path,
    usage_of,
)

log = logging.getLogger("casman.quota")


_warned: set[tuple[str, str]] = set()
"""(tracker path, resource) already warned about in this process: warn once, not per call."""


@dataclass(frozen=True)
class Reservation:
    """What one request took from the tracker before it was sent, to settle afterwards.

    ``counter`` was incremented in tracker month ``month``; a put also holds its size in
    the tracker's ``pending`` under ``pending_id`` until it is settled; a delete notes the
    tracker's change sequence in ``mark`` before it is sent.
    """

    counter: str | None
    month: str
    pending_id: str | None = None
    mark: int | None = None


def was_sent(error: BaseException) -> bool:
    """Whether a failed request may have reached the server (and so is billed).

    Only the declared ``StorageError.request_sent`` says "not sent" (False by default for
    the errors that exist before any request: invalid key, configuration, quota; a backend
    sets it on the others); anything else — a 5xx, a timeout, a bug in a backend, an
    interrupt — may have been sent and is counted, erring on the quota's side.
    """
    if isinstance(error, StorageError):
        return error.request_sent
    return True


def _put_size(op: StorageOp) -> int:
    return len(op.body or b"")


def _check(handle: BackendHandle, op: StorageOp, data: Mapping[str, Any]) -> None:
    """Raise QuotaExceededError if ``op`` must not be sent (the caller holds the lock)."""
    current = usage_of(handle, data)
    limits, default = limits_for(handle)
    blocked: tuple[str, float, bool] | None = None  # resource, percent, "would reach"
    cls = billing_class(handle, op.kind)
    if cls is not None:
        counter = counter_name(cls)
        pct = current.percentages.get(counter)
        if pct is not None and pct >= BLOCK_PERCENT:
            blocked = (counter, pct, False)
    if blocked is None and op.kind == "put" and "storage_gb" in limits:
        limit_bytes = limits["storage_gb"] * BYTES_PER_GB
        held = current.storage_bytes + pending_bytes(data)  # stored + uploads in flight
        after = held - int(data["objects"].get(op.key, 0)) + _put_size(op)
        pct = 100.0 * after / limit_bytes
        if pct >= BLOCK_PERCENT:
            blocked = ("storage", pct, 100.0 * held / limit_bytes < BLOCK_PERCENT)
    if blocked is None:
        return
    resource, pct, would = blocked
    what = "the free tier" if default else "the configured quota"
    amount = (
        f"this upload would bring Storage to {pct:.1f}%"
        if would
        else f"{pct:.1f}% of {resource_title(resource)} used"
    )
    raise QuotaExceededError(
        f"{handle.name.upper()} quota limit reached: {amount}; operation "
        f"'{op.purpose or op.kind}' blocked to prevent exceeding {what} ({summary(current)})",
        request_sent=False,
    )


def _warn(handle: BackendHandle, data: Mapping[str, Any]) -> None:
    """Log once per process and resource when usage reaches 80 %."""
    current = usage_of(handle, data)
    key_base = str(tracker_path(handle))
    for resource, pct in current.percentages.items():
        if pct >= WARN_PERCENT and (key_base, resource) not in _warned:
            _warned.add((key_base, resource))
            log.warning(
                "%s quota: %.1f%% of %s used this month (%s); casman blocks at %.0f%%",
                handle.name,
                pct,
                resource_title(resource),
                summary(current),
                BLOCK_PERCENT,
            )


def reserve(handle: BackendHandle, op: StorageOp) -> Reservation:
    """Check ``op`` against the limits and take its cost, in one step under the lock.

    Raises QuotaExceededError (and leaves the tracker untouched) if it must not be sent.
    A put also reserves its size, so parallel uploads cannot together pass the storage
    limit either; the reservation is kept apart from ``objects`` (what is stored) so that
    settling one upload never disturbs another one's bookkeeping.
    """
    cls = billing_class(handle, op.kind)
    counter = counter_name(cls) if cls is not None else None
    if counter is None and op.kind == "delete":
        # free: nothing to take, only the mark its settling is judged by
        data = tracker_for(handle).read()
        return Reservation(None, str(data["month"]), mark=sequence_of(data))
    if counter is None and op.kind != "put":
        return Reservation(None, "")  # free and stores nothing: nothing to take
    pending_id = uuid.uuid4().hex if op.kind == "put" else None
    taken: list[Reservation] = []

    def change(data: TrackerData) -> None:
        _check(handle, op, data)
        if counter is not None:
            data[counter] = int(data.get(counter, 0)) + 1
        if pending_id is not None:
            entry = {"key": op.key, "bytes": _put_size(op), "at": data["newest"]}
            data.setdefault("pending", {})[pending_id] = entry
        mark = sequence_of(data) if op.kind == "delete" else None
        taken.append(Reservation(counter, str(data["month"]), pending_id, mark))

    data = tracker_for(handle).update(change)
    _warn(handle, data)
    return taken[0]


def settle(
    handle: BackendHandle, op: StorageOp, reservation: Reservation, error: BaseException | None
) -> None:
    """Turn a reservation into the outcome of the call that followed it.

    Success: a put's size is recorded for its key, a delete removes the key. Failure: the
    request counter is given back only if the request was never sent. Either way a put's
    storage reservation ends: a refused or failed upload stored nothing as far as this
    machine knows (``reconcile_storage`` corrects the rare exception from a listing).
    """
    if error is None:
        if op.kind in ("put", "delete"):
            tracker_for(handle).update(lambda data: _stored(op, reservation, data))
        return
    release = not was_sent(error) and reservation.counter is not None
    if release or reservation.pending_id is not None:
        tracker_for(handle).update(lambda data: _give_back(reservation, release, data))


def _stored(op: StorageOp, reservation: Reservation, data: TrackerData) -> None:
    """A put or delete succeeded: the key's size is what was sent, or it is gone.

    A delete leaves a key that an upload recorded after the delete's mark: that upload may
    have reached the server after the delete did (see the tracker's module note).
    """
    if op.kind == "put":
        record_stored(data, op.key, _put_size(op))
    else:
        forget_stored(data, op.key, reservation.mark)
    if reservation.pending_id is not None:
        data.get("pending", {}).pop(reservation.pending_id, None)


def _give_back(reservation: Reservation, release: bool, data: TrackerData) -> None:
    """Undo what a failed call reserved: its count if ``release``, its upload's size always."""
    counter = reservation.counter
    if release and counter is not None and data["month"] == reservation.month:
        # In a later month the reserved count was already reset with its month.
        data[counter] = max(0, int(data.get(counter, 0)) - 1)
    if reservation.pending_id is not None:
        data.get("pending", {}).pop(reservation.pending_id, None)


class _DryRun:
    """Returned instead of a result for a dry-run op so the chain stops before the core."""


_DRY_RUN = _DryRun()


class QuotaPlugin:
    """Built-in plugin: counts and limits every remote call by the backend's cost model."""

    @hookimpl(wrapper=True)
    def casman_storage_op(
        self, backend: BackendHandle, op: StorageOp
    ) -> Generator[None, object, object]:
        if op.dry_run:
            result = yield
            return None if result is _DRY_RUN else result
        limits, _ = limits_for(backend)
        if not limits:
            return (yield)
        reservation = reserve(backend, op)
        try:
            result = yield
        except BaseException as error:
            try:
                settle(backend, op, reservation, error)
            except StorageError as settling:
                # Never hide the call's own error behind the bookkeeping's.
                log.warning("quota tracker not updated after a failed %s: %s", op.kind, settling)
            raise
        settle(backend, op, reservation, None)
        return result

    @hookimpl(tryfirst=True, specname="casman_storage_op")
    def stop_dry_run(self, backend: BackendHandle, op: StorageOp) -> object:
        """A dry-run op is neither sent nor counted: stop the chain before the core."""
        return _DRY_RUN if op.dry_run else None
