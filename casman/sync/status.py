"""``casman sync status``: settings, whether the store is really there, where this site
stands (changes not yet off-site, conflicts, checkpoints), quota."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casman.config import Config
from casman.errors import CasmanError
from casman.storage import quota
from casman.storage.errors import QuotaExceededError
from casman.storage.options import describe_settings
from casman.sync.offsite import pending
from casman.sync.session import Session
from casman.sync.site.state import SiteState, store_location
from casman.sync.store.head import read_array, read_head


@dataclass
class Automatic:
    """What waits locally, and whether it goes off-site by itself."""

    enabled: bool
    pending_changes: int
    oldest_pending: str | None
    last_offsite: str | None


def automatic(config: Config) -> Automatic:
    """Local only (no request): usable offline and with sync disabled."""
    waiting = pending(config.database_dir)
    return Automatic(
        enabled=config.sync.enabled and config.sync.auto_backup,
        pending_changes=waiting.count,
        oldest_pending=waiting.oldest.strftime("%Y-%m-%dT%H:%M:%SZ") if waiting.oldest else None,
        last_offsite=waiting.last_offsite,
    )


@dataclass
class StatusReport:
    backend: str
    description: str
    location: str
    settings: dict[str, Any]
    sync_settings: dict[str, Any]
    reachable: bool
    error: str | None
    local_array: str | None = None
    store_array: str | None = None
    site: str | None = None
    sites_in_store: list[str] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    automatic: Automatic | None = None
    quota: quota.QuotaUsage | None = None


def _local_meta(session: Session) -> tuple[str | None, str | None]:
    from casman.db import records as record_store
    from casman.db.readonly import open_read_only

    try:
        conn = open_read_only(session.database_dir)
    except CasmanError:
        return None, None
    try:
        return (
            record_store.get_meta(conn, record_store.META_ARRAY),
            record_store.get_meta(conn, record_store.META_SITE),
        )
    finally:
        conn.close()


def status(session: Session, now: datetime) -> StatusReport:
    del now
    handle = session.storage.handle
    sync = session.config.sync
    location = store_location(session.storage)
    report = StatusReport(
        backend=session.backend,
        description=handle.spec.description,
        location=location,
        settings=describe_settings(
            handle.spec, {k: v for k, v in handle.settings.items() if k != "quota"}
        ),
        sync_settings={
            "enabled": sync.enabled,
            "keep_versions": sync.keep_versions,
            "database_dir": str(session.database_dir),
        },
        reachable=False,
        error=None,
    )
    report.local_array, report.site = _local_meta(session)
    known = SiteState(session.database_dir).load(location)
    try:
        head = read_head(session.storage)
        identity = read_array(session.storage) if head is None else None
        report.store_array = head.array if head else identity.array if identity else None
        if report.store_array is None and known.known:
            report.error = "the store is empty but this site published to it: not mounted, or wiped"
        else:
            report.reachable = True
        if head is not None:
            report.sites_in_store = sorted(head.sites)
            report.checkpoints = [c.to_json() for c in head.checkpoints]
    except QuotaExceededError as error:
        report.error = f"not checked: the request itself is blocked by the quota ({error})"
    except CasmanError as error:
        report.error = str(error)
    report.automatic = automatic(session.config)
    limits, _ = quota.limits_for(handle)
    if limits:
        report.quota = quota.usage(handle)
    return report
