"""Reading the old tool's times: local wall-clock time without a zone becomes UTC.

The old tool stored ``datetime.now()`` as ``2025-11-17 16:02:30``: the wall clock of the
machine that scanned, with no zone. casman stores ISO 8601 UTC (``2025-11-17T21:02:30Z``).
Which zone that clock was in is a fact about the old installation that the file does not
hold, so adoption needs one: by default the zone of the machine that migrates (``TZ`` is
honoured), or the one given with ``casman database migrate --timezone``. A zone with
daylight saving is applied date by date (summer times get the summer offset).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path

from casman.domain.timestamps import ISO_FORMAT
from casman.errors import UsageError

_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
_CANONICAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@dataclass(frozen=True)
class Zone:
    """A time zone and the name the reports give it."""

    name: str
    info: tzinfo


def parse_zone(text: str) -> Zone:
    """An IANA name (``America/New_York``), ``UTC`` or a fixed offset (``-05:00``)."""
    cleaned = text.strip()
    if cleaned.upper() in ("UTC", "Z", "GMT"):
        return Zone("UTC", UTC)
    offset = _OFFSET.match(cleaned)
    if offset is not None:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > timedelta(hours=14):
            raise UsageError(f"time zone offset {cleaned!r} is beyond ±14:00")
        signed = -delta if sign == "-" else delta
        return Zone(f"UTC{sign}{int(hours):02d}:{int(minutes or 0):02d}", timezone(signed))
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return Zone(cleaned, ZoneInfo(cleaned))
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone {cleaned!r}; give an IANA name such as America/New_York, "
            "UTC, or an offset such as -05:00"
        ) from None


def machine_zone() -> Zone:
    """This machine's zone: ``TZ`` if set, else ``/etc/localtime``, else the C library's.

    The last fallback is a fixed offset (today's), named as such, so a report never
    pretends to know daylight-saving rules it does not have.
    """
    from zoneinfo import ZoneInfo

    name = os.environ.get("TZ", "").strip().lstrip(":")
    if name:
        try:
            return parse_zone(name)
        except UsageError:
            pass
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            key = target.split("zoneinfo/", 1)[1]
            return Zone(key, ZoneInfo(key))
        if localtime.is_file():
            with localtime.open("rb") as handle:
                return Zone("/etc/localtime", ZoneInfo.from_file(handle, key="localtime"))
    except (OSError, ValueError):
        pass
    now = datetime.now().astimezone()
    offset = now.utcoffset() or timedelta(0)
    return Zone(f"{now.tzname()} (fixed offset {offset})", timezone(offset))


@dataclass(frozen=True)
class MappedTime:
    """A time value after the rule: the new value, the rule applied (or None when nothing
    changed), and a note when the value was kept or read with a caveat."""

    value: object
    rule: str | None = None
    kept: str | None = None


def _ambiguous(moment: datetime, zone: tzinfo) -> bool:
    """Inside a fall-back hour (two moments) or a skipped spring-forward hour (none)."""
    first = moment.replace(tzinfo=zone, fold=0)
    second = moment.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        return True
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return round_trip != moment


@lru_cache(maxsize=1 << 18)
def map_time(value: object, zone: Zone) -> MappedTime:
    """One stored time, by the rules ``local-time`` and ``utc-time-spelling`` (cached: the
    old tool stamps a whole batch of parts with one second)."""
    if value is None or (isinstance(value, str) and _CANONICAL.match(value)):
        return MappedTime(value)
    if not isinstance(value, str):
        return MappedTime(value, kept="unknown-time")
    match = _TIME.match(value.strip())
    if match is None:
        return MappedTime(value, kept="unknown-time")
    year, month, day, hour, minute, second, _fraction, suffix = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        return MappedTime(value, kept="unknown-time")
    if suffix is None:
        ambiguous = _ambiguous(moment, zone.info)
        utc = moment.replace(tzinfo=zone.info, fold=0).astimezone(UTC)
        return MappedTime(
            utc.strftime(ISO_FORMAT),
            "local-time",
            kept="ambiguous-local-time" if ambiguous else None,
        )
    offset = timedelta(0)
    if suffix.upper() not in ("Z", "UTC"):
        sign = -1 if suffix[0] == "-" else 1
        digits = suffix[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    try:
        utc = moment.replace(tzinfo=timezone(offset)).astimezone(UTC)
    except (ValueError, OverflowError):
        return MappedTime(value, kept="unknown-time")
    return MappedTime(utc.strftime(ISO_FORMAT), "utc-time-spelling")
