"""``casman sync sync``: bring the local databases up to the newest remote version.

It never discards local work silently (the old implementation did): a database is only
fast-forwarded when it has no changes since the last sync. When both sides moved, it
refuses and says what to do; ``--force`` replaces it after keeping a safety copy.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from casman.db.fingerprint import content_fingerprint
from casman.sync.verify import Verdict, newest_verified
from casman.sync.catalog import BackupEntry, list_backups
from casman.sync.context import SyncContext
from casman.sync.install import DatabaseChangedError, Guard
from casman.sync.restore import restore
from casman.sync.snapshot import SnapshotError, snapshot_in_memory
from casman.sync.state import SyncedVersion


class Relation(Enum):
    IN_SYNC = "in sync"
    AHEAD = "ahead"
    BEHIND = "behind"
    DIVERGED = "diverged"
    NO_REMOTE = "no remote backup"
    NO_LOCAL = "no local database"
    EMPTY_LOCAL = "local database empty"
    UNKNOWN = "not synced yet"


@dataclass(frozen=True)
class LocalState:
    """The local database as sync sees it: None fields when there is no readable file."""

    exists: bool
    sha256: str | None = None
    fingerprint: str | None = None
    records: int = 0


@dataclass
class Comparison:
    db_name: str
    relation: Relation
    local: LocalState
    newest: BackupEntry | None
    last_synced: SyncedVersion | None
    verdict: Verdict | None = None

    @property
    def local_sha256(self) -> str | None:
        return self.local.sha256


def local_state(context: SyncContext, db_name: str) -> LocalState:
    """The local database's snapshot checksum, content fingerprint and record count."""
    path: Path = context.db_path(db_name)
    if not path.exists():
        return LocalState(exists=False)
    try:
        snapshot = snapshot_in_memory(path)
    except SnapshotError:
        return LocalState(exists=True, sha256="unreadable", records=-1)
    return LocalState(True, snapshot.sha256, snapshot.fingerprint, snapshot.records)


def same_content(local: LocalState, version: SyncedVersion) -> bool:
    """Whether the local rows are those of ``version`` (state of casman 0.1: by checksum)."""
    if version.fingerprint is not None:
        return local.fingerprint == version.fingerprint
    return local.sha256 == version.sha256


def compare(context: SyncContext, db_name: str, listing: list[BackupEntry]) -> Comparison:
    """Where the local database stands against the newest verified remote backup.

    Costs no request when the newest key is the one last synced (the usual no-op case);
    otherwise one HEAD per backup looked at (junk newer than the newest good one is skipped).
    """
    local = local_state(context, db_name)
    synced = context.state.get(context.backend, db_name)
    verdict = newest_verified(context, [e for e in listing if e.key.db_name == db_name])
    newest = verdict.entry if verdict is not None else None
    if verdict is None or newest is None:
        relation = Relation.NO_REMOTE
    elif not local.exists:
        relation = Relation.NO_LOCAL
    else:
        remote = verdict.version()
        local_changed = synced is None or not same_content(local, synced)
        remote_moved = synced is None or newest.name != synced.key
        if same_content(local, remote):
            relation = Relation.IN_SYNC
        elif local.records == 0:
            # a fresh site whose first command created empty databases: nothing to lose
            relation = Relation.EMPTY_LOCAL
        elif synced is None:
            relation = Relation.UNKNOWN
        elif local_changed and remote_moved and remote.sha256 != synced.sha256:
            relation = Relation.DIVERGED
        elif local_changed:
            relation = Relation.AHEAD
        else:
            relation = Relation.BEHIND
    return Comparison(db_name, relation, local, newest, synced, verdict)


@dataclass
class PullResult:
    db_name: str
    relation: Relation
    action: str
    downloaded: str | None = None
    safety_copy: Path | None = None


def pull(context: SyncContext, db_names: list[str], *, force: bool = False) -> list[PullResult]:
    listing = list_backups(context.storage)
    results = []
    for db_name in db_names:
        comparison = compare(context, db_name, listing)
        results.append(_apply(context, comparison, force))
    return results


def _apply(context: SyncContext, comparison: Comparison, force: bool) -> PullResult:
    relation, db_name, newest = comparison.relation, comparison.db_name, comparison.newest
    if relation is Relation.IN_SYNC:
        assert newest is not None and comparison.local.sha256 is not None
        if comparison.last_synced is None or comparison.last_synced.key != newest.name:
            assert comparison.verdict is not None
            remote = comparison.verdict.version()
            context.state.record(
                context.backend,
                db_name,
                SyncedVersion(
                    remote.sha256,
                    newest.name,
                    _now(context),
                    "sync",
                    comparison.local.fingerprint,
                ),
            )
        return PullResult(db_name, relation, "already up to date; nothing downloaded")
    if relation is Relation.NO_REMOTE:
        return PullResult(db_name, relation, "no backups on the remote; run `casman sync backup`")
    if relation is Relation.AHEAD:
        return PullResult(
            db_name, relation, "local changes not backed up yet; run `casman sync backup`"
        )
    assert newest is not None
    if relation in (Relation.DIVERGED, Relation.UNKNOWN) and not force:
        why = (
            "both the local database and the remote changed since the last sync"
            if relation is Relation.DIVERGED
            else "it was never synced with this backend and differs from the newest backup"
        )
        return PullResult(
            db_name,
            relation,
            f"refused: {why}; back up first with `casman sync backup` "
            "(or use `casman sync sync --force` to replace it; a local safety copy is kept)",
        )
    guard = None if force else still_unchanged(comparison)
    done = restore(context, newest.name, remote_backup=False, guard=guard)
    return PullResult(
        db_name, relation, f"downloaded {newest.name}", newest.name, done.local_safety_copy
    )


def still_unchanged(comparison: Comparison) -> Guard | None:
    """Refuse the fast-forward if anything was committed locally since the comparison."""
    expected = comparison.local.fingerprint
    if expected is None:
        return None
    db_name = comparison.db_name

    def guard(conn: sqlite3.Connection) -> None:
        if content_fingerprint(conn, db_name) != expected:
            raise DatabaseChangedError(
                f"{db_name} changed locally during the sync (a scan was recorded); it was "
                "not replaced: run `casman sync sync` again"
            )

    return guard


def _now(context: SyncContext) -> str:
    from casman.domain.timestamps import to_iso

    return to_iso(context.clock())
