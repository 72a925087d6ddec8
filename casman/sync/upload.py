"""Storing one version object: its metadata and a key nobody has used."""

from __future__ import annotations

from casman.errors import CasmanError
from casman.storage.errors import ObjectNotFoundError, PreconditionFailedError
from casman.sync.backup_keys import BackupKey
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
)
from casman.sync.context import SyncContext, casman_version, host_name
from casman.sync.snapshot import Snapshot

MAX_KEY_ATTEMPTS = 10


def version_metadata(
    db_name: str, snapshot: Snapshot, operation: str, taken: str
) -> dict[str, str]:
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


def upload_object(
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
