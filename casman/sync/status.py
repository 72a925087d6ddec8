"""``casman sync status``: configuration, backend reachability, where each database stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from casman.db.schema import DATABASE_NAMES
from casman.errors import CasmanError
from casman.storage import quota
from casman.storage.errors import QuotaExceededError
from casman.storage.plugins import describe_settings
from casman.sync.backup_keys import BACKUP_PREFIX
from casman.sync.catalog import list_backups
from casman.sync.context import SyncContext
from casman.sync.pull import Comparison, compare


@dataclass
class DatabaseStatus:
    db_name: str
    exists: bool
    size: int | None
    relation: str
    newest_backup: str | None
    last_synced: str | None
    last_backup_at: str | None


@dataclass
class StatusReport:
    backend: str
    description: str
    settings: dict[str, Any]
    sync_settings: dict[str, Any]
    reachable: bool
    error: str | None
    databases: list[DatabaseStatus] = field(default_factory=list)
    quota: quota.QuotaUsage | None = None


def _database_status(
    context: SyncContext, comparison: Comparison | None, db_name: str
) -> DatabaseStatus:
    path = context.db_path(db_name)
    newest = comparison.newest if comparison else None
    synced = context.state.get(context.backend, db_name)
    return DatabaseStatus(
        db_name=db_name,
        exists=path.exists(),
        size=path.stat().st_size if path.exists() else None,
        relation=comparison.relation.value if comparison else "unknown (backend unreachable)",
        newest_backup=newest.name if newest else None,
        last_synced=synced.key if synced else None,
        last_backup_at=(
            newest.key.taken_at.strftime("%Y-%m-%dT%H:%M:%SZ") if newest is not None else None
        ),
    )


def status(context: SyncContext) -> StatusReport:
    handle = context.storage.handle
    sync = context.config.sync
    report = StatusReport(
        backend=context.backend,
        description=handle.spec.description,
        settings=describe_settings(
            handle.spec, {k: v for k, v in handle.settings.items() if k != "quota"}
        ),
        sync_settings={
            "enabled": sync.enabled,
            "keep_versions": sync.keep_versions,
            "backup_on_scan_count": sync.backup_on_scan_count,
            "backup_on_hours": sync.backup_on_hours,
            "database_dir": str(context.database_dir),
        },
        reachable=False,
        error=None,
    )
    try:
        listing = list_backups(context.storage)
        report.reachable = True
    except QuotaExceededError as error:
        report.error = f"not checked: the listing itself is blocked by the quota ({error})"
        listing = None
    except CasmanError as error:
        report.error = str(error)
        listing = None
    for db_name in DATABASE_NAMES:
        comparison = None
        if listing is not None:
            try:
                comparison = compare(context, db_name, listing)
            except CasmanError as error:
                report.error = str(error)
        report.databases.append(_database_status(context, comparison, db_name))
    limits, _ = quota.limits_for(handle)
    if limits:
        if listing is not None:
            quota.reconcile_storage(handle, [entry.info for entry in listing], BACKUP_PREFIX)
        report.quota = quota.usage(handle)
    return report
