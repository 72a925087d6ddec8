"""``casman sync sync``: bring the local databases up to the newest remote version.

It never discards local work silently (the old implementation did): a database is only
fast-forwarded when it has no changes since the last sync. When both sides moved, it
refuses and says what to do; ``--force`` replaces it after keeping a safety copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from casman.sync.backup import newest_sha256
from casman.sync.catalog import BackupEntry, list_backups
from casman.sync.context import SyncContext
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


@dataclass
class Comparison:
    db_name: str
    relation: Relation
    local_sha256: str | None
    newest: BackupEntry | None
    last_synced: SyncedVersion | None


def local_state(context: SyncContext, db_name: str) -> tuple[str | None, int]:
    """The local database's snapshot checksum (None: no file) and its record count."""
    path: Path = context.db_path(db_name)
    if not path.exists():
        return None, 0
    try:
        snapshot = snapshot_in_memory(path)
    except SnapshotError:
        return "unreadable", -1
    return snapshot.sha256, snapshot.records


def compare(context: SyncContext, db_name: str, newest: BackupEntry | None) -> Comparison:
    """Where the local database stands against the newest remote backup.

    Costs no request when the newest key is the one last synced (the usual no-op case);
    otherwise one HEAD to read the newest backup's checksum.
    """
    local, records = local_state(context, db_name)
    synced = context.state.get(context.backend, db_name)
    if newest is None:
        relation = Relation.NO_REMOTE
    elif local is None:
        relation = Relation.NO_LOCAL
    else:
        remote_sha = newest_sha256(context, db_name, newest)
        local_changed = synced is None or local != synced.sha256
        remote_moved = synced is None or newest.name != synced.key
        if local == remote_sha:
            relation = Relation.IN_SYNC
        elif records == 0:
            # a fresh site whose first command created empty databases: nothing to lose
            relation = Relation.EMPTY_LOCAL
        elif synced is None:
            relation = Relation.UNKNOWN
        elif local_changed and remote_moved and remote_sha != synced.sha256:
            relation = Relation.DIVERGED
        elif local_changed:
            relation = Relation.AHEAD
        else:
            relation = Relation.BEHIND
    return Comparison(db_name, relation, local, newest, synced)


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
        newest = next((entry for entry in listing if entry.key.db_name == db_name), None)
        comparison = compare(context, db_name, newest)
        results.append(_apply(context, comparison, force))
    return results


def _apply(context: SyncContext, comparison: Comparison, force: bool) -> PullResult:
    relation, db_name, newest = comparison.relation, comparison.db_name, comparison.newest
    if relation is Relation.IN_SYNC:
        assert newest is not None and comparison.local_sha256 is not None
        if comparison.last_synced is None or comparison.last_synced.key != newest.name:
            context.state.record(
                context.backend,
                db_name,
                SyncedVersion(comparison.local_sha256, newest.name, _now(context), "sync"),
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
    done = restore(context, newest.name, remote_backup=False)
    return PullResult(
        db_name, relation, f"downloaded {newest.name}", newest.name, done.local_safety_copy
    )


def _now(context: SyncContext) -> str:
    from casman.domain.timestamps import to_iso

    return to_iso(context.clock())
