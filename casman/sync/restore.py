"""``casman sync restore KEY``: the Litestream-style safe restore.

Download to a temp file beside the database (refusing anything larger than a limit before
reading it), verify SHA-256 against the metadata, run ``PRAGMA integrity_check`` and the
exact schema check, keep a local safety copy of the current database (and a remote one
unless ``--no-backup``), then copy the rows into the live database in one transaction (see
:mod:`casman.sync.install`). Any failure before that leaves the current database byte for
byte as it was.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from casman.db.schema_check import check_candidate
from casman.errors import CasmanError
from casman.fileio import write_file
from casman.storage.errors import ObjectTooLargeError
from casman.sync.backup import backup_database
from casman.sync.backup_keys import BackupKey, parse_backup_key
from casman.sync.catalog import META_FINGERPRINT, META_SHA256
from casman.sync.context import SyncContext
from casman.sync.install import (
    Guard,
    both,
    file_fingerprint,
    install,
    is_readable,
    safety_copy,
    unchanged_since,
)
from casman.sync.state import SyncedVersion
from casman.sync.verify import MAX_BACKUP_BYTES

STAMP_FORMAT = "%Y%m%d_%H%M%S"
log = logging.getLogger("casman.sync")


class RestoreRefusedError(CasmanError):
    """The backup failed a check; the current database was not touched."""


@dataclass
class RestoreResult:
    key: str
    db_name: str
    records: int
    local_safety_copy: Path | None
    remote_safety_backup: str | None


@dataclass(frozen=True)
class VerifiedDownload:
    sha256: str
    records: int
    fingerprint: str


def download_verified(context: SyncContext, backup: BackupKey, temp: Path) -> VerifiedDownload:
    """GET the backup into ``temp`` and check it: checksum, integrity, exact schema."""
    try:
        body, info = context.storage.get(backup.key, max_bytes=MAX_BACKUP_BYTES)
    except ObjectTooLargeError as error:
        raise RestoreRefusedError(f"{backup.key} refused: {error}") from None
    expected = info.metadata.get(META_SHA256)
    if not expected:
        raise RestoreRefusedError(
            f"{backup.key} has no sha256 in its metadata, so it cannot be verified; not restored"
        )
    actual = hashlib.sha256(body).hexdigest()
    if actual != expected:
        raise RestoreRefusedError(
            f"{backup.key} is corrupt: its SHA-256 is {actual[:12]}…, the metadata says "
            f"{expected[:12]}…; not restored, the current database is unchanged"
        )
    write_file(temp, body)
    try:
        records = check_candidate(temp, backup.db_name)
    except CasmanError as error:
        raise RestoreRefusedError(f"{backup.key} refused: {error}") from None
    # the SHA-256 proved these are the bytes uploaded with this metadata: its fingerprint
    # is the uploader's; only old backups without one are read row by row
    fingerprint = info.metadata.get(META_FINGERPRINT) or file_fingerprint(temp, backup.db_name)
    return VerifiedDownload(actual, records, fingerprint)


def restore(
    context: SyncContext, key: str, *, remote_backup: bool = True, guard: Guard | None = None
) -> RestoreResult:
    """Replace the local database by backup ``key`` after verifying it.

    ``guard`` runs inside the install's write transaction (see :func:`install`).
    """
    backup = parse_backup_key(key)
    db_name = backup.db_name
    current = context.db_path(db_name)
    stamp = context.clock().strftime(STAMP_FORMAT)
    keep = context.safety_copies
    with context.temp_file(db_name, ".restore") as temp:
        download = download_verified(context, backup, temp)
        log.info(
            "downloaded and verified %s (sha256 %s, %d records)",
            backup.key,
            download.sha256,
            download.records,
        )
        readable = is_readable(current)
        if remote_backup and current.exists() and not readable:
            kept = safety_copy(context.database_dir, db_name, stamp, "unreadable", keep)
            raise CasmanError(
                f"the current {db_name} is unreadable, so it cannot be backed up remotely "
                f"before the restore; its raw file is kept at {kept.path if kept else '-'}; "
                "run again with --no-backup to restore anyway"
            )
        remote_copy = None
        if remote_backup and readable:
            try:
                made = backup_database(
                    context, db_name, f"safety backup before restore of {backup.key}"
                )
            except CasmanError as error:
                raise CasmanError(
                    f"the safety backup of the current {db_name} failed ({error}); nothing was "
                    "restored. Fix the backend or run again with --no-backup"
                ) from None
            remote_copy = made.key or made.unchanged_since
        kept = safety_copy(context.database_dir, db_name, stamp, "before-restore", keep)
        local_copy = kept.path if kept else None
        install(
            temp,
            context.database_dir,
            db_name,
            both(unchanged_since(kept, current, db_name), guard),
        )
    context.state.record(
        context.backend,
        db_name,
        SyncedVersion(
            sha256=download.sha256,
            key=backup.key,
            synced_at=stamp,
            operation="restore",
            fingerprint=download.fingerprint,
        ),
    )
    context.record_event("restore")
    return RestoreResult(backup.key, db_name, download.records, local_copy, remote_copy)


LATEST = "latest"


def resolve_targets(context: SyncContext, what: str, at: str | None = None) -> list[str]:
    """The backup keys ``casman sync restore WHAT [--at T]`` means.

    A backup key is itself; ``parts.db`` / ``assembled_casm.db`` is that database's newest
    published version (the newest taken at or before ``at``); ``latest`` is the newest
    version of each database.
    """
    from casman.db.schema import DATABASE_NAMES
    from casman.domain.timestamps import parse_iso
    from casman.sync.head import load_head

    text = what.strip()
    if text not in (LATEST, *DATABASE_NAMES):
        if at is not None:
            raise CasmanError("--at goes with a database name (parts.db), not with a backup key")
        return [parse_backup_key(text).key]
    limit = None
    if at is not None:
        try:
            limit = parse_iso(at.strip().replace(" ", "T"))
        except (ValueError, CasmanError):
            raise CasmanError(
                f"--at {at!r} is not a time; use ISO 8601 such as 2026-11-22T14:30:00Z"
            ) from None
    names = list(DATABASE_NAMES) if text == LATEST else [text]
    keys = []
    for db_name in names:
        versions = load_head(context, db_name).versions
        chosen = next(
            (v for v in versions if limit is None or parse_backup_key(v.key).taken_at <= limit),
            None,
        )
        if chosen is not None:
            keys.append(chosen.key)
        elif text != LATEST:
            when = f" taken at or before {at}" if at else ""
            raise CasmanError(
                f"no published version of {db_name}{when} on backend {context.backend}; "
                "see `casman sync list`"
            )
    if not keys:
        raise CasmanError(f"nothing is published on backend {context.backend} to restore")
    return keys
