"""Quota enforcement around every remote call (R2's free tier by default).

The wrapper reserves each request's cost, per billing class of the backend's cost model,
before the request is sent, and keeps the bytes stored now (per key, so deletes reduce
it). It warns at 80 % and blocks at 95 % *before* sending, so a user never passes the free
tier, even with many processes sharing one tracker. The parts:

- :mod:`~casman.storage.quota.limits`: which limits apply, what a request costs, usage;
- :mod:`~casman.storage.quota.tracker`: the tracker file, its lock and its month;
- :mod:`~casman.storage.quota.wrapper`: :class:`QuotaPlugin`, reserve and settle.

Showing usage to a person is the CLI's job (``casman.cli.quota_view``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from casman.storage.quota.limits import (
    BLOCK_PERCENT,
    BYTES_PER_GB,
    WARN_PERCENT,
    QuotaUsage,
    billing_class,
    limits_for,
)
from casman.storage.quota.tracker import (
    EventKind,
    listing_mark,
    reconcile_storage,
    record_event,
    tracker_path,
    usage,
)
from casman.storage.quota.wrapper import QuotaPlugin


def now() -> datetime:
    """The current UTC time; every clock reading of the tracker goes through this name.

    Tests patch ``casman.storage.quota.now`` to cross a month boundary or wind time back.
    """
    return datetime.now(UTC)


__all__ = [
    "BLOCK_PERCENT",
    "BYTES_PER_GB",
    "WARN_PERCENT",
    "EventKind",
    "QuotaPlugin",
    "QuotaUsage",
    "billing_class",
    "limits_for",
    "listing_mark",
    "now",
    "reconcile_storage",
    "record_event",
    "tracker_path",
    "usage",
]
