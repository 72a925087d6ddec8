"""``casman sync maintain``: verify every backup, report storage classes, apply retention.

R2 moves objects to Infrequent Access only by lifecycle rules, so "touching" objects does
nothing; what matters is knowing that every backup is intact and in Standard storage. Each
object costs at most one HEAD (Class B).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from casman.db.schema import DATABASE_NAMES
from casman.storage import quota
from casman.storage.backend import STANDARD_STORAGE_CLASS
from casman.storage.errors import ObjectNotFoundError
from casman.sync.backup import apply_retention
from casman.sync.backup_keys import BACKUP_PREFIX
from casman.sync.catalog import list_backups, metadata_problems
from casman.sync.context import SyncContext


@dataclass
class MaintainReport:
    verified: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    not_standard: dict[str, str] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)


def maintain(context: SyncContext) -> MaintainReport:
    report = MaintainReport()
    listing = list_backups(context.storage)
    for db_name in DATABASE_NAMES:
        entries = [entry for entry in listing if entry.key.db_name == db_name]
        kept, doomed = entries[: context.keep_versions], entries[context.keep_versions :]
        for entry in kept:
            if entry.info.storage_class != STANDARD_STORAGE_CLASS:
                report.not_standard[entry.name] = entry.info.storage_class
            try:
                head = context.storage.head(entry.name)
            except ObjectNotFoundError:
                report.problems[entry.name] = ["listed but missing"]
                continue
            found = metadata_problems(entry.key, head)
            if head.size != entry.info.size:
                found.append(f"HEAD size {head.size} ≠ listed size {entry.info.size}")
            if found:
                report.problems[entry.name] = found
            else:
                report.verified.append(entry.name)
        report.deleted += apply_retention(context, doomed, keep=0)
    remaining = [entry.info for entry in listing if entry.name not in set(report.deleted)]
    quota.reconcile_storage(context.storage.handle, remaining, BACKUP_PREFIX)
    return report
