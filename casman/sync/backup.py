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
    META_FINGERPRINT,
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
from casman.sync.verify import Verdict, newest_verified, verify

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
    unverified: dict[str, list[str]] = field(default_factory=dict)


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
        META_FINGERPRINT: snapshot.fingerprint,
    }


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


@dataclass
class Retention:
    deleted: list[str] = field(default_factory=list)
    unverified: dict[str, list[str]] = field(default_factory=dict)


def apply_retention(
    context: SyncContext,
    entries: list[BackupEntry],
    keep: int | None = None,
    known: dict[str, Verdict] | None = None,
) -> Retention:
    """Delete verified backups beyond the newest ``keep`` verified ones (entries newest first).

    Objects that do not verify are reported and left alone: they never count as backups,
    so junk (even under keys dated in the future) cannot make a good backup go.
    """
    keep = context.keep_versions if keep is None else keep
    result = Retention()
    if len(entries) <= keep:
        return result
    known = known or {}
    kept = 0
    for entry in entries:
        verdict = known.get(entry.name) or verify(context, entry)
        if not verdict.ok:
            result.unverified[entry.name] = list(verdict.problems)
            continue
        if kept < keep:
            kept += 1
            continue
        context.storage.delete(entry.name)
        result.deleted.append(entry.name)
    return result


def backup_database(
    context: SyncContext, db_name: str, operation: str, *, force: bool = False
) -> BackupResult:
    """Back up one database; an identical newest backup is not uploaded again."""
    log.info("backing up %s to %s", db_name, context.backend)
    snapshot = snapshot_in_memory(context.db_path(db_name))
    result = BackupResult(db_name, snapshot.sha256, snapshot.size, snapshot.records)
    existing = list_backups(context.storage, db_name)
    newest = newest_verified(context, existing)
    known = {newest.entry.name: newest} if newest is not None else {}
    if newest is not None and not force and same_content(snapshot, newest.version()):
        result.unchanged_since = newest.entry.name
        _remember(context, db_name, snapshot, newest.entry.name, "unchanged")
        retention = apply_retention(context, existing, known=known)
        result.deleted, result.unverified = retention.deleted, retention.unverified
        return result
    now = context.clock()
    metadata = _metadata(db_name, snapshot, operation, to_iso(now))
    key = new_key(db_name, now)
    if newest is not None and key <= newest.entry.key:
        # Another machine's clock (or a burst of backups) is ahead: the new backup must
        # still sort newest, or sync would ignore it and retention could delete it.
        key = newest.entry.key.next_second()
    assert snapshot.body is not None
    taken = {entry.name for entry in existing}
    stored = _upload(context, key, snapshot.body, snapshot.content_md5, metadata, taken)
    result.key = stored.key
    log.info("stored %s (%d bytes, sha256 %s)", stored.key, snapshot.size, snapshot.sha256)
    _remember(context, db_name, snapshot, stored.key, "backup")
    context.record_event("backup")
    stored_entry = BackupEntry(stored, ObjectInfo(key=stored.key, size=snapshot.size, etag=""))
    known[stored.key] = Verdict(
        stored_entry, ObjectInfo(stored.key, snapshot.size, "", metadata=metadata)
    )
    newest_first = sorted([stored_entry, *existing], key=lambda entry: entry.key, reverse=True)
    retention = apply_retention(context, newest_first, known=known)
    result.deleted, result.unverified = retention.deleted, retention.unverified
    return result


def same_content(snapshot: Snapshot, version: SyncedVersion) -> bool:
    """Whether ``snapshot`` holds the rows of a stored version (by checksum for old ones)."""
    if version.fingerprint:
        return snapshot.fingerprint == version.fingerprint
    return snapshot.sha256 == version.sha256


def _remember(context: SyncContext, db_name: str, snapshot: Snapshot, key: str, op: str) -> None:
    context.state.record(
        context.backend,
        db_name,
        SyncedVersion(
            sha256=snapshot.sha256,
            key=key,
            synced_at=to_iso(context.clock()),
            operation=op,
            fingerprint=snapshot.fingerprint,
        ),
    )
