"""Listing backups and reading their metadata."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from casman.storage.backend import ObjectInfo
from casman.storage.operations import Storage
from casman.sync.backup_keys import BACKUP_PREFIX, BackupKey, prefix_for, try_parse

# metadata names; hyphenated lower-case survives every S3-compatible store
META_DATABASE = "database"
META_TIMESTAMP = "timestamp"
META_SIZE = "size"
META_RECORDS = "records"
META_OPERATION = "operation"
META_SHA256 = "sha256"
META_VERSION = "casman-version"
META_HOST = "host"
META_FINGERPRINT = "fingerprint"
META_PARENTS = "parents"
META_SITE = "site"


@dataclass(frozen=True)
class BackupEntry:
    key: BackupKey
    info: ObjectInfo

    @property
    def name(self) -> str:
        return self.key.key


def backups_in(objects: Iterable[ObjectInfo], db_name: str | None = None) -> list[BackupEntry]:
    """Backups among listed objects, newest first; anything else under backups/ is ignored."""
    entries = []
    for info in objects:
        key = try_parse(info.key)
        if key is not None and (db_name is None or key.db_name == db_name):
            entries.append(BackupEntry(key, info))
    return sorted(entries, key=lambda entry: entry.key, reverse=True)


def list_backups(storage: Storage, db_name: str | None = None) -> list[BackupEntry]:
    prefix = prefix_for(db_name) if db_name else BACKUP_PREFIX
    return backups_in(storage.list(prefix), db_name)


def metadata_problems(entry_key: BackupKey, info: ObjectInfo) -> list[str]:
    """What is wrong with a backup object's metadata compared with its key and size."""
    meta: Mapping[str, str] = info.metadata
    problems = []
    if meta.get(META_DATABASE) != entry_key.db_name:
        problems.append(f"metadata database is {meta.get(META_DATABASE)!r}")
    if not meta.get(META_SHA256):
        problems.append("no sha256 in metadata")
    if meta.get(META_SIZE) != str(info.size):
        problems.append(f"metadata size {meta.get(META_SIZE)} ≠ object size {info.size}")
    return problems
