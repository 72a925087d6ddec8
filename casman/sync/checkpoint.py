"""Checkpoints: plain SQLite snapshots of both databases, under the spec's backup keys.

A checkpoint is what a person (or ``sqlite3``) can open without casman, and a quick start
for a new site; it is never the truth. ``parts.db`` carries the change records, so a
checkpoint restored anywhere adds its records to the site's set and loses nothing. Each is
named in the head with its SHA-256 and the records it holds; retention keeps the newest
``keep_versions`` and deletes only checkpoints the head no longer needs.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime

from casman.db import records as record_store
from casman.db.schema import DATABASE_NAMES, PARTS_DB
from casman.domain.timestamps import to_iso
from casman.storage.errors import ObjectNotFoundError, PreconditionFailedError
from casman.sync.backup_keys import new_key
from casman.sync.errors import SyncError
from casman.sync.session import Session
from casman.sync.site.snapshots import snapshot_bytes
from casman.sync.store.head import Checkpoint, Head, read_head, write_head

MAX_CHECKPOINT_BYTES = 2 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class CheckpointResult:
    checkpoint: Checkpoint
    deleted: tuple[str, ...]


def _upload(
    session: Session,
    db_name: str,
    body: bytes,
    when: datetime,
    meta: dict[str, str],
    taken: set[str],
) -> str:
    """Store under the first free key from ``when`` on: keys the head names are skipped
    without a request (two checkpoints in one second would otherwise pay a refused PUT)."""
    conditional = session.storage.handle.spec.capabilities.conditional_writes
    key = new_key(db_name, when)
    while key.key in taken:
        key = key.next_second()
    for _ in range(60):
        try:
            session.storage.put(key.key, body, meta, if_none_match="*" if conditional else None)
            return key.key
        except PreconditionFailedError:
            key = key.next_second()
    raise SyncError(f"no free checkpoint key for {db_name} near {to_iso(when)}")


def take_checkpoint(session: Session, keep: int) -> CheckpointResult:
    """Snapshot both databases, upload them, name them in the head, apply retention."""
    directory = session.database_dir
    conn = sqlite3.connect(f"{(directory / PARTS_DB).resolve().as_uri()}?mode=ro", uri=True)
    try:
        count = record_store.record_count(conn)
        newest = record_store.highest_stamp(conn) if count else 0
        array = record_store.get_meta(conn, record_store.META_ARRAY) or ""
    finally:
        conn.close()
    when = session.clock()
    known = read_head(session.storage)
    taken = {k for c in (known.checkpoints if known else ()) for k in c.keys.values()}
    keys: dict[str, str] = {}
    sums: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for db_name in DATABASE_NAMES:
        body = snapshot_bytes(directory / db_name)
        digest = hashlib.sha256(body).hexdigest()
        meta = {
            "casman-sha256": digest,
            "casman-database": db_name,
            "casman-array": array,
            "casman-records": str(count),
            "casman-newest": str(newest),
        }
        keys[db_name] = _upload(session, db_name, body, when, meta, taken)
        sums[db_name], sizes[db_name] = digest, len(body)
    checkpoint = Checkpoint(keys, sums, sizes, count, newest, to_iso(when))
    for _ in range(8):
        head = read_head(session.storage)
        if head is None:
            raise SyncError("the store has no head; run `casman sync sync` first")
        kept = (checkpoint, *head.checkpoints)[: max(1, keep)]
        dropped = [c for c in head.checkpoints if c not in kept]
        try:
            write_head(session.storage, replace(head, checkpoints=kept), head)
        except PreconditionFailedError:
            continue
        deleted = []
        for old in dropped:
            for key in old.keys.values():
                try:
                    session.storage.delete(key)
                    deleted.append(key)
                except ObjectNotFoundError:
                    pass
        _count_backup(session)
        return CheckpointResult(checkpoint, tuple(deleted))
    raise SyncError("the store's head kept changing; the checkpoint is stored but not named")


def _count_backup(session: Session) -> None:
    """The quota's "backups this month", where a quota is kept (never in a dry run)."""
    from casman.storage import quota

    if session.storage.dry_run:
        return
    limits, _ = quota.limits_for(session.storage.handle)
    if limits:
        quota.record_event(session.storage.handle, "backup")


def find_checkpoint(head: Head, key: str) -> Checkpoint:
    for checkpoint in head.checkpoints:
        if key in checkpoint.keys.values():
            return checkpoint
    raise SyncError(f"{key} is not a checkpoint the store's head names; see `casman sync list`")
