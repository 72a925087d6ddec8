"""``casman sync status``: configuration, backend reachability, where each database stands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from casman.config import Config
from casman.db.readonly import open_read_only
from casman.db.schema import DATABASE_NAMES
from casman.errors import CasmanError
from casman.storage import quota
from casman.storage.errors import QuotaExceededError
from casman.storage.plugins import describe_settings
from casman.sync.auto import LOG_NAME, automatic_backups_on
from casman.sync.conflicts import open_conflicts
from casman.sync.context import SyncContext
from casman.sync.converge import classify, local_state
from casman.sync.head import Head, load_head
from casman.sync.outbox import entries, outbox_dir
from casman.sync.state import SyncState
from casman.sync.tracker import Staleness, staleness


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
    conflicts: list[dict[str, str]] = field(default_factory=list)
    automatic: AutomaticBackups | None = None


@dataclass
class AutomaticBackups:
    """The scan-tracker block: what waits locally, and when it goes off-site."""

    enabled: bool
    backup_on_scan_count: int
    backup_on_hours: float
    databases: list[Staleness]
    outbox: list[dict[str, object]]
    uploader_log: str | None


def automatic_backups(config: Config, now: datetime) -> AutomaticBackups:
    """Local only (no request): usable while offline or with sync disabled."""
    directory = config.database_dir
    log = outbox_dir(directory) / LOG_NAME
    last_line = None
    if log.is_file():
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        last_line = lines[-1] if lines else None
    return AutomaticBackups(
        enabled=automatic_backups_on(config),
        backup_on_scan_count=config.sync.backup_on_scan_count,
        backup_on_hours=config.sync.backup_on_hours,
        databases=staleness(directory, config.sync, now),
        outbox=[
            {"database": e.db_name, "taken_at": e.taken_at, "size": e.size, "reason": e.reason}
            for e in entries(directory)
        ],
        uploader_log=last_line,
    )


def _database_status(
    context: SyncContext, db_name: str, head: Head | None, error: str | None
) -> DatabaseStatus:
    path = context.db_path(db_name)
    synced = context.state.get(context.backend, db_name)
    newest = head.newest if head else None
    relation = "unknown (backend unreachable)"
    if head is not None:
        relation = classify(local_state(context, db_name), synced, head).value
    return DatabaseStatus(
        db_name=db_name,
        exists=path.exists(),
        size=path.stat().st_size if path.exists() else None,
        relation=relation if error is None else f"unknown ({error})",
        newest_backup=newest.key if newest else None,
        last_synced=synced.key if synced else None,
        last_backup_at=newest.taken_at if newest else None,
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
    heads: dict[str, Head | None] = {}
    for db_name in DATABASE_NAMES:
        try:
            heads[db_name] = load_head(context, db_name)
            report.reachable = True
        except QuotaExceededError as error:
            report.error = f"not checked: the request itself is blocked by the quota ({error})"
            heads[db_name] = None
        except CasmanError as error:
            report.error = str(error)
            heads[db_name] = None
    for db_name in DATABASE_NAMES:
        report.databases.append(_database_status(context, db_name, heads[db_name], None))
    report.conflicts = unresolved_conflicts(context.database_dir)
    report.automatic = automatic_backups(context.config, context.clock())
    limits, _ = quota.limits_for(handle)
    if limits:
        report.quota = quota.usage(handle)
    return report


def unresolved_conflicts(database_dir: Path) -> list[dict[str, str]]:
    """The recorded conflicts still open in the local databases (see casman.sync.conflicts)."""
    try:
        conn = open_read_only(database_dir)
    except CasmanError:
        return SyncState(database_dir).conflicts()
    try:
        return open_conflicts(database_dir, conn)
    finally:
        conn.close()
