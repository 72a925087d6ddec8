"""The array identity (``array.json``) and the head index (``head.json``).

The head says, per site, which segment is its newest (each segment names the one before it,
so the chain behind it is found without listing), and which checkpoints are kept. It is
replaced by compare-and-swap where the backend can (``if_match`` its ETag), and it is only
an index: a stale, rolled-back or foreign head costs a re-upload or a refusal, never data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from casman.domain.timestamps import parse_iso
from casman.storage.errors import ObjectNotFoundError, PreconditionFailedError
from casman.storage.operations import Storage
from casman.sync.backup_keys import try_parse
from casman.sync.errors import DamagedObjectError
from casman.sync.store.jsonio import dump_json, load_json
from casman.sync.store.keys import ARRAY_KEY, HEAD_KEY, SITE_ID, parse_segment_key

FORMAT = "casman-array/1"
MAX_HEAD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class SiteTip:
    """A site's newest segment as the head knows it."""

    seq: int
    key: str


@dataclass(frozen=True)
class Checkpoint:
    """A snapshot of both databases, and the records it contains (count and newest stamp)."""

    keys: dict[str, str]
    sha256: dict[str, str]
    sizes: dict[str, int]
    records: int
    newest: int
    created: str

    def to_json(self) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "sha256": self.sha256,
            "sizes": self.sizes,
            "records": self.records,
            "newest": self.newest,
            "created": self.created,
        }


@dataclass(frozen=True)
class Head:
    array: str
    sites: dict[str, SiteTip] = field(default_factory=dict)
    checkpoints: tuple[Checkpoint, ...] = ()
    damaged: tuple[str, ...] = ()
    """Segments some site found missing or not matching their name: every site holding
    their records publishes everything it has again, then the note is cleared."""
    etag: str | None = None

    def to_bytes(self) -> bytes:
        return dump_json(
            {
                "format": FORMAT,
                "array": self.array,
                "sites": {s: {"seq": t.seq, "key": t.key} for s, t in sorted(self.sites.items())},
                "checkpoints": [c.to_json() for c in self.checkpoints],
                "damaged": sorted(self.damaged),
            }
        )

    def with_tip(self, site: str, tip: SiteTip) -> Head:
        return replace(self, sites={**self.sites, site: tip})


def _int(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DamagedObjectError(f"{what} is not a non-negative integer")
    return value


def _str_map(value: object, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise DamagedObjectError(f"{what} is not a map of strings")
    return dict(value)


def _checkpoint(raw: object) -> Checkpoint:
    if not isinstance(raw, dict):
        raise DamagedObjectError("a checkpoint entry of head.json is not an object")
    sizes = raw.get("sizes")
    if not isinstance(sizes, dict):
        raise DamagedObjectError("a checkpoint entry of head.json has no sizes")
    created = raw.get("created")
    if not isinstance(created, str):
        raise DamagedObjectError("a checkpoint entry of head.json has no creation time")
    try:
        parse_iso(created)
    except ValueError:
        raise DamagedObjectError(
            f"a checkpoint entry of head.json has a malformed creation time {created!r}"
        ) from None
    keys = _str_map(raw.get("keys"), "checkpoint keys")
    for db_name, key in keys.items():
        # printed and requested by the verbs: only the spec's keys of a known database
        parsed = try_parse(key)
        if parsed is None or parsed.db_name != db_name:
            raise DamagedObjectError(f"head.json names a malformed checkpoint key {key!r}")
    return Checkpoint(
        keys=keys,
        sha256=_str_map(raw.get("sha256"), "checkpoint sha256"),
        sizes={str(k): _int(v, "checkpoint size") for k, v in sizes.items()},
        records=_int(raw.get("records"), "checkpoint records"),
        newest=_int(raw.get("newest"), "checkpoint newest"),
        created=created,
    )


def parse_head(body: bytes, etag: str | None) -> Head:
    data = load_json(body, HEAD_KEY)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DamagedObjectError(f"{HEAD_KEY} is not a casman head ({FORMAT})")
    array = data.get("array")
    sites_raw = data.get("sites")
    checkpoints_raw = data.get("checkpoints", [])
    if not isinstance(array, str) or not array or not isinstance(sites_raw, dict):
        raise DamagedObjectError(f"{HEAD_KEY} names no array or no sites")
    if not isinstance(checkpoints_raw, list):
        raise DamagedObjectError(f"{HEAD_KEY} has a malformed checkpoint list")
    sites: dict[str, SiteTip] = {}
    for site, tip in sites_raw.items():
        if not isinstance(site, str) or not SITE_ID.match(site) or not isinstance(tip, dict):
            raise DamagedObjectError(f"{HEAD_KEY} names a malformed site {site!r}")
        key = tip.get("key")
        if not isinstance(key, str):
            raise DamagedObjectError(f"{HEAD_KEY}: site {site} has no segment key")
        owner, seq, _ = parse_segment_key(key)
        if owner != site or seq != _int(tip.get("seq"), "a segment number"):
            raise DamagedObjectError(f"{HEAD_KEY}: site {site} names another site's segment")
        sites[site] = SiteTip(seq, key)
    checkpoints = tuple(_checkpoint(raw) for raw in checkpoints_raw)
    damaged_raw = data.get("damaged", [])
    if not isinstance(damaged_raw, list) or not all(isinstance(k, str) for k in damaged_raw):
        raise DamagedObjectError(f"{HEAD_KEY} has a malformed list of damaged segments")
    for key in damaged_raw:
        parse_segment_key(key)
    return Head(array, sites, checkpoints, tuple(sorted(set(damaged_raw))), etag)


def read_head(storage: Storage) -> Head | None:
    """The head (one GET), or None when the store has none."""
    try:
        body, info = storage.get(HEAD_KEY, max_bytes=MAX_HEAD_BYTES)
    except ObjectNotFoundError:
        return None
    return parse_head(body, info.etag)


def write_head(storage: Storage, head: Head, previous: Head | None) -> Head:
    """Replace the head; raises PreconditionFailedError when another site got there first."""
    conditional = storage.handle.spec.capabilities.conditional_writes
    if_match = previous.etag if previous is not None and conditional else None
    if_none_match = "*" if previous is None and conditional else None
    info = storage.put(
        HEAD_KEY,
        head.to_bytes(),
        {"casman-array": head.array},
        if_match=if_match,
        if_none_match=if_none_match,
    )
    return replace(head, etag=info.etag)


@dataclass(frozen=True)
class ArrayIdentity:
    array: str
    created: str
    converted: bool = False
    """Founded by converting a round-2 store: databases adopted from rows (genesis array
    ids) that synced with it belong to it without an explicit join."""


def read_array(storage: Storage) -> ArrayIdentity | None:
    try:
        body, _ = storage.get(ARRAY_KEY, max_bytes=64 * 1024)
    except ObjectNotFoundError:
        return None
    data = load_json(body, ARRAY_KEY)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DamagedObjectError(f"{ARRAY_KEY} is not a casman array identity ({FORMAT})")
    array, created = data.get("array"), data.get("created")
    if not isinstance(array, str) or not array or not isinstance(created, str):
        raise DamagedObjectError(f"{ARRAY_KEY} names no array")
    return ArrayIdentity(array, created, data.get("converted") is True)


def write_array(storage: Storage, identity: ArrayIdentity) -> ArrayIdentity:
    """Write the identity once; if another site wrote one first, that one stands."""
    body = dump_json(
        {
            "format": FORMAT,
            "array": identity.array,
            "created": identity.created,
            "converted": identity.converted,
        }
    )
    conditional = storage.handle.spec.capabilities.conditional_writes
    try:
        storage.put(ARRAY_KEY, body, {}, if_none_match="*" if conditional else None)
    except PreconditionFailedError:
        existing = read_array(storage)
        if existing is None:
            raise
        return existing
    return identity
