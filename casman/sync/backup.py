"""``casman sync backup``: publish the local databases; retention of verified backups."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from casman.sync.catalog import BackupEntry
from casman.sync.context import SyncContext
from casman.sync.verify import Verdict, verify

log = logging.getLogger("casman.sync")


@dataclass
class BackupResult:
    db_name: str
    relation: str
    note: str
    key: str | None = None
    unchanged_since: str | None = None
    merged: bool = False
    conflicts: int = 0
    deleted: list[str] = field(default_factory=list)


@dataclass
class Retention:
    deleted: list[str] = field(default_factory=list)
    unverified: dict[str, list[str]] = field(default_factory=dict)


def apply_retention(
    context: SyncContext,
    entries: list[BackupEntry],
    keep: int | None = None,
    known: dict[str, Verdict] | None = None,
    protected: frozenset[str] = frozenset(),
) -> Retention:
    """Delete verified backups beyond the newest ``keep`` verified ones (entries newest first).

    Objects that do not verify are reported and left alone: they never count as backups,
    so junk (even under keys dated in the future) cannot make a good backup go. Versions
    the head lists (``protected``) are never deleted here: the head's own trimming owns them.
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
        if kept < keep or entry.name in protected:
            kept += 1
            continue
        context.storage.delete(entry.name)
        result.deleted.append(entry.name)
    return result


def backup_database(
    context: SyncContext, db_name: str, operation: str, *, force: bool = False
) -> BackupResult:
    """Publish the local database as a new version, never hiding another site's work.

    Ahead: a new version on top of the head. Diverged: merged first (see
    :mod:`casman.sync.converge`). Behind: nothing to upload (the local content is a
    stored version already); the result's ``note`` says to run ``casman sync sync``.
    """
    from casman.sync.converge import Relation, converge

    log.info("backing up %s to %s", db_name, context.backend)
    done = converge(
        context,
        db_name,
        operation=operation,
        fast_forward=False,
        force_publish=force,
        publish_empty=True,
    )
    result = BackupResult(db_name, relation=done.relation.value, note=done.action)
    result.key = done.published
    result.deleted = done.deleted
    result.merged = done.merge is not None
    result.conflicts = len(done.conflicts)
    if done.relation is Relation.IN_SYNC and not done.published:
        synced = context.state.get(context.backend, db_name)
        result.unchanged_since = synced.key if synced else None
    return result
