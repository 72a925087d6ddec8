"""The plain-file store layout, shared by every backend that keeps objects as files.

``local`` (a directory) and ``fsspec`` (any filesystem but S3) lay a store out alike, so
either reads what the other wrote and a backup is a file ``sqlite3`` opens:

- the body at ``<root>/<key>``, the object's bytes as they are;
- its metadata at ``<root>/<key>@meta.json`` (:data:`META_SUFFIX`, format
  :data:`META_FORMAT`): the entries (MD5, size, metadata) of the newest body and of the one
  it replaced, so a reader that fetched a body just before a writer replaced both still
  finds the entry of what it read;
- temp files ``.<name>@<random>.tmp`` and locks ``…@lock``: ``@`` is never in a key
  (:func:`is_bookkeeping`), so no key can name them.

A writer replaces the sidecar first, then the body; a reader fetches the body first, the
sidecar after it, and takes the entry that matches (:func:`match_body`). How each backend
makes those steps atomic is its own business; the layout and the matching live here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from casman.storage.errors import ChecksumMismatchError

META_SUFFIX = "@meta.json"
"""Appended to an object's file name to name its metadata file."""
META_FORMAT = "casman-local/2"
MAX_ENTRIES = 2
"""A sidecar lists the newest body and the one it replaces (for a reader or a crash)."""
MAX_META_BYTES = 1024 * 1024
READ_ATTEMPTS = 4
"""A reader that finds no entry for the body it read tries again this often: a writer
may be between the sidecar and the body."""


@dataclass(frozen=True)
class Entry:
    """What a sidecar records about one body."""

    md5: str
    size: int
    metadata: Mapping[str, str]

    def to_json(self) -> dict[str, object]:
        return {"md5": self.md5, "size": self.size, "metadata": dict(self.metadata)}


def _entry_from_json(data: object) -> Entry:
    if not isinstance(data, dict):
        raise ValueError("entry is not an object")
    metadata = data["metadata"]
    if not isinstance(metadata, dict):
        raise ValueError("metadata is not an object")
    md5, size = data["md5"], data["size"]
    if not isinstance(md5, str) or not isinstance(size, int) or isinstance(size, bool):
        raise ValueError("md5 or size has the wrong type")
    return Entry(md5, size, {str(name): str(value) for name, value in metadata.items()})


def encode_meta(entries: Sequence[Entry]) -> bytes:
    """A sidecar's bytes (ASCII JSON)."""
    payload = {"format": META_FORMAT, "objects": [entry.to_json() for entry in entries]}
    return json.dumps(payload, indent=1, sort_keys=True, ensure_ascii=True).encode("ascii")


def decode_meta(raw: bytes, key: str) -> list[Entry]:
    """A sidecar's entries; a sidecar that is not one is damage (ChecksumMismatchError)."""
    try:
        if len(raw) > MAX_META_BYTES:
            raise ValueError("too large")
        payload = json.loads(raw)
        if payload.get("format") != META_FORMAT:
            raise ValueError("unknown format")
        return [_entry_from_json(item) for item in payload["objects"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise damaged(key, f"unreadable metadata file {key}{META_SUFFIX}") from None


def damaged(key: str, why: str) -> ChecksumMismatchError:
    return ChecksumMismatchError(f"stored object {key} is damaged ({why}); restore another backup")


def entries_for(new: Entry, current: Entry | None) -> list[Entry]:
    """What a writer's sidecar lists: the new body, then the one it replaces."""
    return [new, *([current] if current is not None else [])][:MAX_ENTRIES]


def of_size(entries: Sequence[Entry] | None, size: int) -> list[Entry]:
    """The entries that could describe a body of ``size`` bytes."""
    return [entry for entry in entries or () if entry.size == size]


def unambiguous(candidates: Sequence[Entry]) -> Entry | None:
    """The entry a HEAD may trust without reading the body: the only MD5 of that size."""
    if candidates and len({entry.md5 for entry in candidates}) == 1:
        return candidates[0]
    return None


def match_body(entries: Sequence[Entry] | None, body: bytes) -> Entry | None:
    """The entry of ``body``; a body without a sidecar (copied in by hand) is an object
    with empty metadata and the MD5 of its bytes. None: a writer came in between."""
    md5 = hashlib.md5(body).hexdigest()
    if entries is None:
        return Entry(md5, len(body), {})
    return next((e for e in entries if e.md5 == md5 and e.size == len(body)), None)


def mismatch(key: str, entries: Sequence[Entry] | None, size: int) -> ChecksumMismatchError:
    """The damage a reader reports when no attempt found a matching entry."""
    if not of_size(entries, size):
        recorded = " or ".join(str(entry.size) for entry in entries or ())
        return damaged(key, f"{size} bytes instead of {recorded}")
    return damaged(key, "MD5 of the body differs from the one recorded")


def is_bookkeeping(name: str) -> bool:
    """Sidecars, temp files and locks: never a key (``@`` cannot occur in one)."""
    return "@" in name


def temp_name(name: str, token: str) -> str:
    """A writer's temp file for the object file ``name`` (hidden, never a key)."""
    return f".{name}@{token}.tmp"
