"""Where things live in a store (all keys relative, all objects immutable but the head).

* ``array.json``: the array's identity, written once by the first site.
* ``head.json``: the index, replaced by compare-and-swap: per site its newest segment, and
  the checkpoints kept. Never a source of truth: losing it costs re-reading, not data.
* ``log/{site}/{seq:010d}-{sha256}``: a segment of change records, named by its content.
* ``backups/{db}/{YYYYmmdd_HHMMSS}_{db}``: checkpoints, plain SQLite snapshots (the spec's keys).
"""

from __future__ import annotations

import re

from casman.sync.errors import DamagedObjectError

ARRAY_KEY = "array.json"
HEAD_KEY = "head.json"
LOG_PREFIX = "log/"
_SEGMENT = re.compile(r"^log/([a-z0-9_-]{1,64})/(\d{10})-([0-9a-f]{64})$")
SITE_ID = re.compile(r"^[a-z0-9_-]{1,64}$")


def segment_key(site: str, seq: int, sha256: str) -> str:
    return f"{LOG_PREFIX}{site}/{seq:010d}-{sha256}"


def parse_segment_key(key: str) -> tuple[str, int, str]:
    """(site, seq, sha256) of a segment key; anything else is refused."""
    match = _SEGMENT.match(key)
    if match is None:
        raise DamagedObjectError(f"{key!r} is not a segment key")
    return match.group(1), int(match.group(2)), match.group(3)
