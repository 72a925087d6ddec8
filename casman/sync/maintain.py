"""``casman sync maintain``: verify every backup, report storage classes, apply retention.

R2 moves objects to Infrequent Access only by lifecycle rules, so "touching" objects does
nothing; what matters is knowing that every backup is intact and in Standard storage. Each
object costs one HEAD (Class B); ``deep`` reads each body instead (one GET) and checks its
SHA-256, which is the only way to catch a same-size corruption before a restore needs it.

A backend that keeps bookkeeping files of its own (``local``: objects written by casman
0.1, metadata left by a writer that crashed) tidies them first, through the optional
:class:`~casman.storage.backend.Tidy` method of the storage contract, so the objects that
are then verified are already in the backend's current layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from casman.db.schema import DATABASE_NAMES
from casman.storage import quota
from casman.storage.backend import STANDARD_STORAGE_CLASS, Tidy
from casman.sync.backup import apply_retention
from casman.sync.backup_keys import BACKUP_PREFIX
from casman.sync.catalog import list_backups
from casman.sync.context import SyncContext
from casman.sync.head import load_head
from casman.sync.verify import verdicts

LEVEL_METADATA = "metadata (HEAD: database, SHA-256 present, size)"
LEVEL_CONTENT = "content (GET: SHA-256 of every body)"


@dataclass
class MaintainReport:
    level: str = LEVEL_METADATA
    verified: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    not_standard: dict[str, str] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    tidied: list[str] = field(default_factory=list)
    """What the backend's own tidy step did (converted objects, removed leftovers)."""


def maintain(context: SyncContext, *, deep: bool = False) -> MaintainReport:
    report = MaintainReport(level=LEVEL_CONTENT if deep else LEVEL_METADATA)
    backend = context.storage.handle.impl
    if isinstance(backend, Tidy) and not getattr(context.storage, "dry_run", False):
        report.tidied = backend.tidy(BACKUP_PREFIX)
    listing = list_backups(context.storage)
    for db_name in DATABASE_NAMES:
        entries = [entry for entry in listing if entry.key.db_name == db_name]
        known = {}
        for verdict in verdicts(context, entries, deep=deep):
            known[verdict.entry.name] = verdict
            if not verdict.ok:
                report.problems[verdict.entry.name] = list(verdict.problems)
                continue
            report.verified.append(verdict.entry.name)
            if verdict.entry.info.storage_class != STANDARD_STORAGE_CLASS:
                report.not_standard[verdict.entry.name] = verdict.entry.info.storage_class
        listed = frozenset(v.key for v in load_head(context, db_name).versions)
        retention = apply_retention(context, entries, known=known, protected=listed)
        report.deleted += retention.deleted
        report.verified = [key for key in report.verified if key not in retention.deleted]
    remaining = [entry.info for entry in listing if entry.name not in set(report.deleted)]
    quota.reconcile_storage(context.storage.handle, remaining, BACKUP_PREFIX)
    return report
