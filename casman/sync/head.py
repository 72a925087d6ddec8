"""The head of a database on a store: which versions exist and which one is newest.

``backups/{db}/HEAD.json`` lists the retained versions newest first, each with its parents,
site, checksums and counts. It is replaced only by a conditional write (``if_match`` its
ETag, ``if_none_match="*"`` the first time), so two sites can never both publish on top of
the same parent: the loser re-reads the head, merges and tries again. Reading it is one GET,
so a no-op sync, ``list`` and ``status`` never list the bucket. A store written before heads
existed gets one built from a listing of its verified backups on first use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from casman.errors import CasmanError
from casman.storage.errors import ObjectNotFoundError
from casman.sync.backup_keys import parse_backup_key, prefix_for
from casman.sync.catalog import (
    META_FINGERPRINT,
    META_HOST,
    META_OPERATION,
    META_RECORDS,
    META_SHA256,
    META_TIMESTAMP,
    META_VERSION,
    list_backups,
)
from casman.sync.context import SyncContext
from casman.sync.verify import verdicts

HEAD_NAME = "HEAD.json"
HEAD_FORMAT = 1
MAX_HEAD_BYTES = 1024 * 1024


class HeadError(CasmanError):
    """A head object that cannot be read as casman's; nothing was changed."""


@dataclass(frozen=True)
class Version:
    """One stored version of a database, as the head records it."""

    key: str
    sha256: str
    fingerprint: str | None
    size: int
    records: int | None
    parents: tuple[str, ...] = ()
    site: str = ""
    taken_at: str = ""
    operation: str = ""
    casman_version: str = ""
    conflicts: tuple[Mapping[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["parents"] = list(self.parents)
        data["conflicts"] = [dict(c) for c in self.conflicts]
        return data


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise HeadError(f"head entry field {name} is not text")
    return value


def version_from_json(db_name: str, data: object) -> Version:
    """A Version from untrusted JSON: every field type-checked, every key a backup key."""
    if not isinstance(data, dict):
        raise HeadError("head entry is not an object")
    key = parse_backup_key(_text(data.get("key"), "key")).key
    if parse_backup_key(key).db_name != db_name:
        raise HeadError(f"head of {db_name} lists a version of another database")
    parents = data.get("parents") or []
    if not isinstance(parents, list):
        raise HeadError("head entry parents is not a list")
    conflicts = data.get("conflicts") or []
    if not isinstance(conflicts, list) or not all(
        isinstance(c, dict) and all(isinstance(v, str) for v in c.values()) for c in conflicts
    ):
        raise HeadError("head entry conflicts are malformed")
    size, records = data.get("size"), data.get("records")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise HeadError("head entry size is not a size")
    if records is not None and (not isinstance(records, int) or isinstance(records, bool)):
        raise HeadError("head entry records is not a number")
    fingerprint = data.get("fingerprint")
    return Version(
        key=key,
        sha256=_text(data.get("sha256"), "sha256"),
        fingerprint=_text(fingerprint, "fingerprint") if fingerprint is not None else None,
        size=size,
        records=records,
        parents=tuple(parse_backup_key(_text(p, "parents")).key for p in parents),
        site=_text(data.get("site", ""), "site"),
        taken_at=_text(data.get("taken_at", ""), "taken_at"),
        operation=_text(data.get("operation", ""), "operation"),
        casman_version=_text(data.get("casman_version", ""), "casman_version"),
        conflicts=tuple(conflicts),
    )


@dataclass(frozen=True)
class Head:
    """The versions of one database, newest first; ``etag`` None: not stored yet."""

    db_name: str
    versions: tuple[Version, ...] = ()
    etag: str | None = None
    built_from_listing: bool = False
    unverified: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def newest(self) -> Version | None:
        return self.versions[0] if self.versions else None

    def find(self, key: str) -> Version | None:
        return next((v for v in self.versions if v.key == key), None)

    def to_bytes(self) -> bytes:
        body = {
            "format": HEAD_FORMAT,
            "database": self.db_name,
            "head": self.newest.key if self.newest else None,
            "versions": [version.to_json() for version in self.versions],
        }
        return json.dumps(body, indent=1, ensure_ascii=True).encode("ascii")


def head_key(db_name: str) -> str:
    return f"{prefix_for(db_name)}{HEAD_NAME}"


def parse_head(db_name: str, body: bytes, etag: str) -> Head:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise HeadError(f"{head_key(db_name)} is not valid JSON; not used") from None
    if not isinstance(data, dict) or data.get("format") != HEAD_FORMAT:
        raise HeadError(f"{head_key(db_name)} has an unknown format; upgrade casman")
    if data.get("database") != db_name or not isinstance(data.get("versions"), list):
        raise HeadError(f"{head_key(db_name)} is not the head of {db_name}")
    versions = tuple(version_from_json(db_name, item) for item in data["versions"])
    return Head(db_name, versions, etag)


def read_head(context: SyncContext, db_name: str) -> Head | None:
    """The stored head (one GET), or None when the store has none yet."""
    try:
        body, info = context.storage.get(head_key(db_name), max_bytes=MAX_HEAD_BYTES)
    except ObjectNotFoundError:
        return None
    return parse_head(db_name, body, info.etag)


def head_from_listing(context: SyncContext, db_name: str) -> Head:
    """A head for a store written before heads existed: its verified backups, newest first."""
    entries = list_backups(context.storage, db_name)
    versions: list[Version] = []
    unverified: dict[str, list[str]] = {}
    for verdict in verdicts(context, entries):
        if len(versions) >= context.keep_versions:
            break
        if not verdict.ok or verdict.info is None:
            unverified[verdict.entry.name] = list(verdict.problems)
            continue
        meta = verdict.info.metadata
        records = meta.get(META_RECORDS, "")
        versions.append(
            Version(
                key=verdict.entry.name,
                sha256=meta[META_SHA256],
                fingerprint=meta.get(META_FINGERPRINT) or None,
                size=verdict.info.size,
                records=int(records) if records.isdigit() else None,
                site=meta.get(META_HOST, ""),
                taken_at=meta.get(META_TIMESTAMP, ""),
                operation=meta.get(META_OPERATION, ""),
                casman_version=meta.get(META_VERSION, ""),
            )
        )
    return Head(db_name, tuple(versions), None, built_from_listing=True, unverified=unverified)


def load_head(context: SyncContext, db_name: str) -> Head:
    """The stored head, or one built from the listing (``etag`` None) for an older store."""
    return read_head(context, db_name) or head_from_listing(context, db_name)


def write_head(context: SyncContext, head: Head, versions: Sequence[Version]) -> Head:
    """Replace ``head`` by ``versions`` with a compare-and-swap on its ETag.

    Raises PreconditionFailedError when another site moved the head since it was read.
    """
    if not context.conditional_writes:
        raise CasmanError(
            f"backend {context.backend} has no conditional writes, so casman cannot move the "
            "head safely when several sites publish; use a backend that has them (local, s3, "
            "r2) or see docs/writing-a-backend.md"
        )
    new = replace(head, versions=tuple(versions), built_from_listing=False, unverified={})
    body = new.to_bytes()
    if head.etag is None:
        info = context.storage.put(head_key(head.db_name), body, {}, if_none_match="*")
    else:
        info = context.storage.put(head_key(head.db_name), body, {}, if_match=head.etag)
    return replace(new, etag=info.etag)
