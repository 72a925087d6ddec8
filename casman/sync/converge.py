"""``casman sync sync``: every site converges on one truth, and nobody's work is lost.

Per database, against the head of the store (:mod:`casman.sync.head`):

=============  ==========================================================================
in sync        nothing to do
ahead          publish the local database as a new version whose parent is the head
behind         fast-forward: install the head's version (a local safety copy is kept)
diverged       three-way merge of local and head over their common base (the version the
               site last synced), install the merge, publish it with both parents
=============  ==========================================================================

Publishing moves the head by compare-and-swap; a site that loses the race re-reads the
head and goes round again (merging with what the winner published), so two sites can never
both publish on top of the same parent and no published version is ever hidden.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from casman.db.fingerprint import content_fingerprint
from casman.db.schema_check import check_candidate
from casman.domain.timestamps import to_iso
from casman.errors import CasmanError
from casman.fileio import write_file
from casman.storage.errors import ObjectNotFoundError, PreconditionFailedError
from casman.sync.backup_keys import BackupKey, new_key, parse_backup_key
from casman.sync.catalog import META_PARENTS, META_SITE
from casman.sync.conflicts import head_conflicts
from casman.sync.context import SyncContext, site_name
from casman.sync.head import Head, Version, load_head, read_head, write_head
from casman.sync.install import (
    DatabaseChangedError,
    FileState,
    Guard,
    install,
    safety_copy,
)
from casman.sync.local_cache import CachedState, cached, remember
from casman.sync.restore import STAMP_FORMAT, download_verified, restore
from casman.sync.snapshot import Snapshot, SnapshotError, snapshot_in_memory
from casman.sync.state import SyncedVersion
from casman.sync.tracker import ScanTracker
from casman.sync.upload import upload_object, version_metadata

if TYPE_CHECKING:
    from casman.sync.merge import Conflict, MergeReport

MAX_ROUNDS = 6
log = logging.getLogger("casman.sync")


class Relation(Enum):
    IN_SYNC = "in sync"
    AHEAD = "ahead"
    BEHIND = "behind"
    DIVERGED = "diverged"
    NO_REMOTE = "no remote backup"
    NO_LOCAL = "no local database"
    EMPTY_LOCAL = "local database empty"
    UNKNOWN = "not synced yet"


FAST_FORWARDS = frozenset({Relation.BEHIND, Relation.EMPTY_LOCAL, Relation.NO_LOCAL})
LOCAL_WORK_LEFT = frozenset(
    {Relation.AHEAD, Relation.DIVERGED, Relation.UNKNOWN, Relation.NO_REMOTE}
)
"""Relations where local work is not off-site unless the step published it."""


@dataclass(frozen=True)
class LocalState:
    """The local database as sync sees it: None fields when there is no readable file."""

    exists: bool
    sha256: str | None = None
    fingerprint: str | None = None
    records: int = 0
    snapshot: Snapshot | None = None
    before: FileState | None = None  # the files' stat when this state was read


def local_state(context: SyncContext, db_name: str, *, fresh: bool = False) -> LocalState:
    """The local database's checksum, content fingerprint and record count.

    Unless ``fresh``, an unchanged file is answered from :mod:`casman.sync.local_cache`
    without reading it (``snapshot`` is then None); a fresh state carries the snapshot.
    """
    path: Path = context.db_path(db_name)
    if not path.exists():
        return LocalState(exists=False)
    before = FileState.of(path)
    stat = list(before.stat)
    if not fresh:
        known = cached(context.database_dir, db_name, stat)
        if known is not None:
            return LocalState(True, known.sha256, known.fingerprint, known.records, None, before)
    try:
        snapshot = snapshot_in_memory(path)
    except SnapshotError:
        return LocalState(exists=True, sha256="unreadable", records=-1)
    remember(
        context.database_dir,
        db_name,
        CachedState(stat, snapshot.sha256, snapshot.fingerprint, snapshot.records),
    )
    return LocalState(
        True, snapshot.sha256, snapshot.fingerprint, snapshot.records, snapshot, before
    )


def with_snapshot(context: SyncContext, db_name: str, local: LocalState) -> LocalState:
    """``local`` with its snapshot (taken now when the state came from the cache)."""
    return local if local.snapshot is not None else local_state(context, db_name, fresh=True)


def same_content(local: LocalState, version: SyncedVersion | Version) -> bool:
    """Whether the local rows are those of ``version`` (by checksum for casman 0.1 state)."""
    if version.fingerprint is not None:
        return local.fingerprint == version.fingerprint
    return local.sha256 == version.sha256


def classify(local: LocalState, synced: SyncedVersion | None, head: Head) -> Relation:
    remote = head.newest
    if remote is None:
        return Relation.NO_REMOTE
    if not local.exists:
        return Relation.NO_LOCAL
    if same_content(local, remote):
        return Relation.IN_SYNC
    if local.records == 0:
        return Relation.EMPTY_LOCAL  # a fresh site's empty databases: nothing to lose
    if synced is None:
        return Relation.UNKNOWN
    local_changed = not same_content(local, synced)
    remote_moved = synced.key != remote.key
    if local_changed and remote_moved:
        return Relation.DIVERGED
    return Relation.AHEAD if local_changed else Relation.BEHIND


@dataclass
class SyncResult:
    db_name: str
    relation: Relation
    action: str
    published: str | None = None
    downloaded: str | None = None
    safety_copy: Path | None = None
    merge: MergeReport | None = None
    deleted: list[str] = field(default_factory=list)
    rounds: int = 1

    @property
    def conflicts(self) -> list[Conflict]:
        return list(self.merge.conflicts) if self.merge else []


def _record(context: SyncContext, db_name: str, version: Version, fingerprint: str | None) -> None:
    context.state.record(
        context.backend,
        db_name,
        SyncedVersion(
            sha256=version.sha256,
            key=version.key,
            synced_at=to_iso(context.clock()),
            operation="sync",
            fingerprint=fingerprint,
        ),
    )


def _fresh_key(context: SyncContext, db_name: str, head: Head, taken: set[str]) -> BackupKey:
    """A key after every version the head knows, so the newest always sorts newest."""
    key = new_key(db_name, context.clock())
    newest = head.newest
    if newest is not None:
        newest_key = parse_backup_key(newest.key)
        if key <= newest_key:
            key = newest_key.next_second()
    while key.key in taken:
        key = key.next_second()
    return key


def upload_version(
    context: SyncContext,
    db_name: str,
    head: Head,
    snapshot: Snapshot,
    operation: str,
    parents: Sequence[str],
    taken: set[str],
    conflicts: Sequence[Conflict] = (),
) -> Version:
    """Store ``snapshot`` as a new version object (not published until the head moves)."""
    assert snapshot.body is not None
    taken_at = to_iso(context.clock())
    metadata = version_metadata(db_name, snapshot, operation, taken_at)
    metadata[META_PARENTS] = ",".join(parents)
    metadata[META_SITE] = site_name(context.config)
    key = _fresh_key(context, db_name, head, taken)
    stored = upload_object(context, key, snapshot.body, snapshot.content_md5, metadata, taken)
    taken.add(stored.key)
    return Version(
        key=stored.key,
        sha256=snapshot.sha256,
        fingerprint=snapshot.fingerprint,
        size=snapshot.size,
        records=snapshot.records,
        parents=tuple(parents),
        site=site_name(context.config),
        taken_at=taken_at,
        operation=operation[:200],
        casman_version=metadata.get("casman-version", ""),
        conflicts=tuple(
            {
                "kind": c.kind,
                "key": c.key,
                "kept": c.kept,
                "other": c.other,
                "detail": c.detail,
            }
            for c in conflicts
        ),
    )


def publish(context: SyncContext, head: Head, new: Sequence[Version]) -> tuple[Head, list[str]]:
    """Move the head to ``new`` (newest first) by compare-and-swap; apply retention.

    On a lost race the just-uploaded objects are deleted again (nobody can know them) and
    PreconditionFailedError propagates so the caller goes round once more.
    """
    versions = [*new, *head.versions]
    kept, dropped = versions[: context.keep_versions], versions[context.keep_versions :]
    # a version just published is never dropped, whatever keep_versions says
    kept += [v for v in dropped if v in new]
    dropped = [v for v in dropped if v not in new]
    try:
        moved = write_head(context, head, kept)
    except PreconditionFailedError:
        # A retried PUT whose first attempt was stored also answers 412: look before
        # deleting, or the head would name objects that no longer exist.
        current = read_head(context, head.db_name)
        if current is not None and all(current.find(v.key) for v in new):
            moved = current
        else:
            _forget(context, new)
            raise
    except CasmanError:
        _forget(context, new)  # e.g. the quota blocked the head write: publish nothing
        raise
    deleted = []
    for version in dropped:
        _delete_quietly(context, version.key)
        deleted.append(version.key)
    return moved, deleted


def _forget(context: SyncContext, versions: Sequence[Version]) -> None:
    """Delete uploaded versions the head never named (nobody can know them)."""
    for version in versions:
        _delete_quietly(context, version.key)


def _delete_quietly(context: SyncContext, key: str) -> None:
    try:
        context.storage.delete(key)
    except ObjectNotFoundError:
        pass
    except CasmanError as error:
        log.warning("could not delete %s: %s", key, error)


def _unchanged_guard(context: SyncContext, db_name: str, local: LocalState) -> Guard | None:
    """Refuse to install if anything was committed locally since ``local`` was read.

    The files' stat answers at no cost when nothing was written; otherwise the rows are
    compared with the fingerprint ``local`` had.
    """
    if local.fingerprint is None:
        return None
    expected = local.fingerprint
    path = context.db_path(db_name)

    def guard(conn: sqlite3.Connection) -> None:
        if local.before is not None and local.before.unchanged(path):
            return
        if content_fingerprint(conn, db_name) != expected:
            raise DatabaseChangedError(
                f"{db_name} changed locally during the sync (a scan was recorded); "
                "going round again"
            )

    return guard


def _push(
    context: SyncContext, db_name: str, head: Head, local: LocalState, operation: str
) -> SyncResult:
    local = with_snapshot(context, db_name, local)
    assert local.snapshot is not None
    parents = [head.newest.key] if head.newest else []
    taken = {v.key for v in head.versions}
    version = upload_version(context, db_name, head, local.snapshot, operation, parents, taken)
    _, deleted = publish(context, head, [version])
    _record(context, db_name, version, local.fingerprint)
    context.record_event("backup")
    relation = Relation.AHEAD if head.newest else Relation.NO_REMOTE
    return SyncResult(
        db_name, relation, f"published {version.key}", published=version.key, deleted=deleted
    )


def _fast_forward(
    context: SyncContext, db_name: str, head: Head, local: LocalState, relation: Relation
) -> SyncResult:
    remote = head.newest
    assert remote is not None
    done = restore(
        context,
        remote.key,
        remote_backup=False,
        guard=_unchanged_guard(context, db_name, local),
    )
    _record(context, db_name, remote, remote.fingerprint or local.fingerprint)
    return SyncResult(
        db_name,
        relation,
        f"fast-forwarded to {remote.key}",
        downloaded=remote.key,
        safety_copy=done.local_safety_copy,
    )


def _download_base(context: SyncContext, db_name: str, key: str | None, path: Path) -> bool:
    """The common base, if it is still stored (retention may have deleted it)."""
    if key is None:
        return False
    try:
        download_verified(context, parse_backup_key(key), path)
    except ObjectNotFoundError:
        log.warning("base version %s is no longer stored; merging without it", key)
        return False
    return True


def _merge(
    context: SyncContext,
    db_name: str,
    head: Head,
    local: LocalState,
    synced: SyncedVersion | None,
    relation: Relation,
) -> SyncResult:
    from casman.sync.merge import merge_databases

    remote = head.newest
    local = with_snapshot(context, db_name, local)
    assert remote is not None and local.snapshot is not None
    stamp = context.clock().strftime(STAMP_FORMAT)
    with (
        context.temp_file(db_name, ".base") as base_path,
        context.temp_file(db_name, ".local") as local_path,
        context.temp_file(db_name, ".remote") as remote_path,
        context.temp_file(db_name, ".merged") as merged_path,
    ):
        has_base = _download_base(context, db_name, synced.key if synced else None, base_path)
        assert local.snapshot.body is not None
        write_file(local_path, local.snapshot.body)
        download_verified(context, parse_backup_key(remote.key), remote_path)
        merged_path.unlink(missing_ok=True)
        report = merge_databases(
            db_name, base_path if has_base else None, local_path, remote_path, merged_path
        )
        check_candidate(merged_path, db_name)
        kept = safety_copy(
            context.database_dir, db_name, stamp, "before-merge", context.safety_copies
        )
        guard = _unchanged_guard(context, db_name, local)
        install(merged_path, context.database_dir, db_name, guard)
        merged = snapshot_in_memory(context.db_path(db_name))
        taken = {v.key for v in head.versions}
        local_parents = [synced.key] if synced else []
        uploaded: list[Version] = []
        try:
            local_version = upload_version(
                context,
                db_name,
                head,
                local.snapshot,
                "local work before merge",
                local_parents,
                taken,
            )
            uploaded.append(local_version)
            merge_version = upload_version(
                context,
                db_name,
                head,
                merged,
                f"merge of {remote.key} and {local_version.key}",
                [remote.key, local_version.key],
                taken,
                report.conflicts,
            )
        except CasmanError:
            _forget(context, uploaded)
            raise
    _, deleted = publish(context, head, [merge_version, local_version])
    _record(context, db_name, merge_version, merged.fingerprint)
    context.record_event("backup")
    action = (
        f"merged {report.local_changes} local and {report.remote_changes} remote change(s); "
        f"published {merge_version.key}"
    )
    return SyncResult(
        db_name,
        relation,
        action,
        published=merge_version.key,
        downloaded=remote.key,
        safety_copy=kept.path if kept else None,
        merge=report,
        deleted=deleted,
    )


def converge(
    context: SyncContext,
    db_name: str,
    *,
    operation: str = "sync",
    fast_forward: bool = True,
    force_publish: bool = False,
    publish_empty: bool = False,
    publish: bool = True,
) -> SyncResult:
    """Bring ``db_name`` and the store to the same version (see the module docstring).

    ``fast_forward`` False (``casman sync backup``) reports "behind" instead of
    downloading; ``force_publish`` publishes an unchanged database again;
    ``publish_empty`` publishes a first version even when the database holds no rows;
    ``publish`` False (a read-only consumer) only ever fast-forwards: a database with local
    changes is left exactly as it is.
    """
    for round_number in range(1, MAX_ROUNDS + 1):
        head = load_head(context, db_name)
        tracker = ScanTracker(context.database_dir)
        serial = tracker.serial(db_name)  # read before the snapshot: a lower bound
        local = local_state(context, db_name)
        if local.sha256 == "unreadable":
            raise CasmanError(
                f"{context.db_path(db_name)} is unreadable; restore it with "
                f"`casman sync restore latest --db {db_name}` (a safety copy is kept)"
            )
        synced = context.state.get(context.backend, db_name)
        relation = classify(local, synced, head)
        if not publish and relation not in FAST_FORWARDS and relation is not Relation.IN_SYNC:
            return SyncResult(db_name, relation, "local changes here; left as they are")
        try:
            result = _step(
                context,
                db_name,
                head,
                local,
                synced,
                relation,
                operation,
                fast_forward,
                force_publish or (publish_empty and head.newest is None),
            )
        except (PreconditionFailedError, DatabaseChangedError) as error:
            log.info("round %d for %s: %s; going round again", round_number, db_name, error)
            continue
        result.rounds = round_number
        _remember_conflicts(context, db_name, head, result)
        if result.relation not in LOCAL_WORK_LEFT or result.published:
            tracker.backed_up(db_name, serial, context.clock())
        return result
    raise CasmanError(
        f"{db_name}: the store's head kept moving during {MAX_ROUNDS} attempts (other sites "
        "publishing at the same time); nothing was lost, run `casman sync sync` again"
    )


def _remember_conflicts(context: SyncContext, db_name: str, head: Head, result: SyncResult) -> None:
    """Keep the store's conflicts locally, so status and the web show them offline."""
    known = head_conflicts(head.versions)
    known += [
        {
            "kind": c.kind,
            "key": c.key,
            "kept": c.kept,
            "other": c.other,
            "detail": c.detail,
            "version": result.published or "",
        }
        for c in result.conflicts
    ]
    context.state.record_conflicts(context.backend, db_name, known)


def _step(
    context: SyncContext,
    db_name: str,
    head: Head,
    local: LocalState,
    synced: SyncedVersion | None,
    relation: Relation,
    operation: str,
    fast_forward: bool,
    force_publish: bool,
) -> SyncResult:
    remote = head.newest
    if relation is Relation.IN_SYNC:
        assert remote is not None
        if head.etag is None:
            head = write_head(context, head, head.versions)  # an older store gets its head
        if force_publish:
            return _push(context, db_name, head, local, operation)
        if synced is None or synced.key != remote.key or synced.fingerprint is None:
            _record(context, db_name, remote, local.fingerprint)
        return SyncResult(db_name, relation, "in sync; nothing to do")
    if relation is Relation.NO_REMOTE:
        if local.records <= 0 and not force_publish:
            if head.etag is None and not head.unverified:
                # an empty head, so the next sync reads one object instead of listing
                write_head(context, head, ())
            return SyncResult(db_name, relation, "nothing to publish yet (no data)")
        return _push(context, db_name, head, local, operation)
    if relation is Relation.AHEAD:
        return _push(context, db_name, head, local, operation)
    if relation in FAST_FORWARDS:
        if not fast_forward:
            return SyncResult(
                db_name,
                relation,
                f"no local changes; the store has newer work ({remote.key if remote else '-'}): "
                "run `casman sync sync` to get it",
            )
        return _fast_forward(context, db_name, head, local, relation)
    return _merge(context, db_name, head, local, synced, relation)
