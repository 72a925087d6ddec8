"""Segments: immutable, content-addressed bundles of change records.

A segment is gzip-compressed JSON: the site and number it was written as, the key of the
site's previous segment (so the chain is walked from the head without a listing), and the
records. Its key ends in the SHA-256 of its bytes; a download whose bytes do not hash to
that name, or any record whose content does not hash to its id, is refused — a swapped or
damaged object can never reach a database.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from casman.domain.records import ChangeRecord, RecordError, record_from_json
from casman.storage.errors import (
    ChecksumMismatchError,
    ObjectTooLargeError,
    PreconditionFailedError,
)
from casman.storage.operations import Storage
from casman.sync.errors import DamagedObjectError
from casman.sync.store.jsonio import dump_json, load_json
from casman.sync.store.keys import parse_segment_key, segment_key

MAX_SEGMENT_BYTES = 64 * 1024 * 1024
MAX_UNPACKED_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Segment:
    key: str
    site: str
    seq: int
    previous: str | None
    records: tuple[ChangeRecord, ...]
    refused: tuple[str, ...] = ()
    """One line per record that failed the door's checks (set aside; the rest get in)."""


def encode(site: str, seq: int, previous: str | None, records: Sequence[ChangeRecord]) -> bytes:
    body = dump_json(
        {
            "format": "casman-segment/1",
            "site": site,
            "seq": seq,
            "previous": previous,
            "records": [
                {"id": r.id, **_record_json(r)} for r in sorted(records, key=lambda r: r.order)
            ],
        }
    )
    # mtime=0: the same records always give the same bytes, hence the same key
    return gzip.compress(body, compresslevel=6, mtime=0)


def _record_json(record: ChangeRecord) -> dict[str, object]:
    import json

    data: dict[str, object] = json.loads(record.canonical())
    return data


def _unpack(body: bytes, key: str) -> bytes:
    try:
        unpacker = zlib.decompressobj(wbits=31)
        data = unpacker.decompress(body, MAX_UNPACKED_BYTES)
        if unpacker.unconsumed_tail:
            raise DamagedObjectError(f"{key} unpacks to more than {MAX_UNPACKED_BYTES} bytes")
        return data
    except zlib.error as error:
        raise DamagedObjectError(f"{key} is not a gzip segment ({error}); set aside") from None


def decode(key: str, body: bytes) -> Segment:
    """Verify ``body`` against ``key`` and every record against its id."""
    site, seq, sha = parse_segment_key(key)
    if hashlib.sha256(body).hexdigest() != sha:
        raise DamagedObjectError(
            f"{key} does not match its SHA-256 (damaged or swapped); set aside"
        )
    data = load_json(_unpack(body, key), key)
    if not isinstance(data, dict) or data.get("format") != "casman-segment/1":
        raise DamagedObjectError(f"{key} is not a casman segment")
    if data.get("site") != site or data.get("seq") != seq:
        raise DamagedObjectError(f"{key} says it is another segment")
    previous = data.get("previous")
    if previous is not None:
        if not isinstance(previous, str):
            raise DamagedObjectError(f"{key} names a malformed previous segment")
        owner, earlier, _ = parse_segment_key(previous)
        if owner != site or earlier >= seq:
            raise DamagedObjectError(f"{key} names a previous segment out of order")
    raw_records = data.get("records")
    if not isinstance(raw_records, list):
        raise DamagedObjectError(f"{key} holds no record list")
    records = []
    refused = []
    for n, raw in enumerate(raw_records):
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            refused.append(f"{key}: record {n} has no id; set aside")
            continue
        content = {k: v for k, v in raw.items() if k != "id"}
        try:
            records.append(record_from_json(content, raw["id"]))
        except RecordError as error:
            refused.append(f"{key}: record {str(raw['id'])[:12]}: {error}; set aside")
    return Segment(key, site, seq, previous, tuple(records), tuple(refused))


def upload(
    storage: Storage, site: str, seq: int, previous: str | None, records: Sequence[ChangeRecord]
) -> str:
    """Store a segment once; an identical one already there is the same object."""
    body = encode(site, seq, previous, records)
    key = segment_key(site, seq, hashlib.sha256(body).hexdigest())
    conditional = storage.handle.spec.capabilities.conditional_writes
    with contextlib.suppress(PreconditionFailedError):
        # its name is its content: what is there is what we meant to write
        storage.put(
            key,
            body,
            {"casman-records": str(len(records))},
            if_none_match="*" if conditional else None,
        )
    return key


def download(storage: Storage, key: str) -> Segment:
    """A verified segment; one the backend itself finds damaged, or too large to be one,
    is refused like any other damaged object (set aside), never a failed sync."""
    try:
        body, _ = storage.get(key, max_bytes=MAX_SEGMENT_BYTES)
    except (ChecksumMismatchError, ObjectTooLargeError) as error:
        raise DamagedObjectError(f"{error}; set aside") from None
    return decode(key, body)
