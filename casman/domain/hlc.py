"""Hybrid logical clock stamps: wall-clock milliseconds that never run backwards.

A stamp is one integer, ``milliseconds << 16 | counter``. A site never stamps a change
below the highest stamp it has seen (its own or another site's), so a change made after
seeing another one always orders after it, even when this site's clock is hours behind
(Kulkarni et al., 2014). That is why a disconnect always folds after the connect it ends,
whatever the technicians' clocks said.
"""

from __future__ import annotations

from datetime import UTC, datetime

COUNTER_BITS = 16


def from_millis(milliseconds: int) -> int:
    return milliseconds << COUNTER_BITS


def millis(stamp: int) -> int:
    """The wall-clock part of ``stamp``, in milliseconds since the epoch."""
    return stamp >> COUNTER_BITS


def next_stamp(now: datetime, highest_seen: int) -> int:
    """The stamp of a new change made at ``now`` after seeing ``highest_seen``."""
    return max(from_millis(int(now.timestamp() * 1000)), highest_seen + 1)


def to_datetime(stamp: int) -> datetime:
    return datetime.fromtimestamp(millis(stamp) / 1000, UTC)


def from_datetime(moment: datetime) -> int:
    """The smallest stamp at or after ``moment`` (for "everything up to then")."""
    return from_millis(int(moment.timestamp() * 1000))
