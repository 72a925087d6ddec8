"""``casman sync backup``: snapshot, hash, upload once, apply retention."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from casman.domain.timestamps import to_iso
from casman.errors import CasmanError
from casman.storage.backend import ObjectInfo
from casman.storage.errors import ObjectNotFoundError, PreconditionFailedError
from casman.sync.backup_keys import BackupKey, new_key
from casman.sync.catalog import (
    META_DATABASE,
    META_HOST,
    META_OPERATION,
    META_RECORDS,
    META_SHA256,
    META_SIZE,
    META_TIMESTAMP,
    META_VERSION,
    BackupEntry,
    list_backups,
)
from casman.sync.context import SyncContext, casman_version, host_name
from casman.sync.snapshot import Snapshot, snapshot_in_memory
from casman.sync.state import SyncedVersion

MAX_KEY_ATTEMPTS = 10
log = logging.getLogger("casman.sync")


@dataclass
class BackupResult:
    db_name: str
    snapshot_sha256: str
    size: int
    records: int
    key: str | None = None
    unchanged_since: str | None = None
    deleted: list[str] = field(default_factory=list)


def _metadata(db_name: str, snapshot: Snapshot, operation: str, taken: str) -> dict[str, str]:
    return {
        META_DATABASE: db_name,
        META_TIMESTAMP: taken,
        META_SIZE: str(snapshot.size),
        META_RECORDS: str(snapshot.records),
        META_OPERATION: operation[:200],
        META_SHA256: snapshot.sha256,
        META_VERSION: casman_version(),
        META_HOST: host_name(),
    }


def newest_sha256(context: SyncContext, db_name: str, newest: BackupEntry) -> str | None:
    """The newest backup's checksum: from the sync state when it is that backup, else HEAD."""
    known = context.state.get(context.backend, db_name)
    if known is not None and known.key == newest.name:
        return known.sha256
    return context.storage.head(newest.name).metadata.get(META_SHA256)


def _upload(
    context: SyncContext,
    key: BackupKey,
    body: bytes,
    md5: str,
    metadata: dict[str, str],
    taken: set[str],
) -> BackupKey:
    """Store under a key nobody has used: the next free second if two backups collide."""
    for _ in range(MAX_KEY_ATTEMPTS):
        while key.key in taken:
            key = key.next_second()
        if not context.conditional_writes:
            try:
                context.storage.head(key.key)
                taken.add(key.key)
                continue
            except ObjectNotFoundError:
                pass
        try:
            context.storage.put(
                key.key,
                body,
                metadata,
                if_none_match="*" if context.conditional_writes else None,
                md5=md5,
            )
            return key
        except PreconditionFailedError:
            taken.add(key.key)
    raise CasmanError(
        f"could not find a free backup key for {key.db_name} after {MAX_KEY_ATTEMPTS} tries"
    )


def apply_retention(
    context: SyncContext, entries: list[BackupEntry], keep: int | None = None
) -> list[str]:
    """Delete the oldest backups beyond ``keep_versions`` (entries are newest first)."""
    keep = context.keep_versions if keep is None else keep
    deleted = []
    for entry in entries[keep:]:
        if entry.key.db_name != entries[0].key.db_name:
            continue
        context.storage.delete(entry.name)
        deleted.append(entry.name)
    return deleted


def backup_database(
    context: SyncContext, db_name: str, operation: str, *, force: bool = False
) -> BackupResult:
    """Back up one database; an identical newest backup is not uploaded again."""
    log.info("backing up %s to %s", db_name, context.backend)
    snapshot = snapshot_in_memory(context.db_path(db_name))
    result = BackupResult(db_name, snapshot.sha256, snapshot.size, snapshot.records)
    existing = list_backups(context.storage, db_name)
    if existing and not force and newest_sha256(context, db_name, existing[0]) == snapshot.sha256:
        result.unchanged_since = existing[0].name
        _remember(context, db_name, snapshot.sha256, existing[0].name, "unchanged")
        result.deleted = apply_retention(context, existing)
        return result
    now = context.clock()
    metadata = _metadata(db_name, snapshot, operation, to_iso(now))
    key = new_key(db_name, now)
    if existing and key <= existing[0].key:
        # Another machine's clock (or a burst of backups) is ahead: the new backup must
        # still sort newest, or sync would ignore it and retention could delete it.
        key = existing[0].key.next_second()
    assert snapshot.body is not None
    taken = {entry.name for entry in existing}
    stored = _upload(context, key, snapshot.body, snapshot.content_md5, metadata, taken)
    result.key = stored.key
    log.info("stored %s (%d bytes, sha256 %s)", stored.key, snapshot.size, snapshot.sha256)
    _remember(context, db_name, snapshot.sha256, stored.key, "backup")
    context.record_event("backup")
    newest_first = sorted(
        [BackupEntry(stored, _placeholder(stored.key, snapshot.size)), *existing],
        key=lambda entry: entry.key,
        reverse=True,
    )
    result.deleted = apply_retention(context, newest_first)
    return result


def _placeholder(key: str, size: int) -> ObjectInfo:
    """The just-stored object, as a listing would show it, without another LIST."""
    return ObjectInfo(key=key, size=size, etag="")


def _remember(context: SyncContext, db_name: str, sha: str, key: str, operation: str) -> None:
    context.state.record(
        context.backend,
        db_name,
        SyncedVersion(sha256=sha, key=key, synced_at=to_iso(context.clock()), operation=operation),
    )
