"""Counting changes and running the automatic backup when one is due.

The spec's triggers: after every part generation, and after ``backup_on_scan_count``
changes or ``backup_on_hours`` hours since the last automatic backup, whichever comes
first. Off unless ``database.sync.auto_backup: true`` (see docs/decisions.md).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from filelock import FileLock

from casman.config import Config
from casman.domain.timestamps import parse_iso, to_iso, utc_now
from casman.errors import CasmanError
from casman.fileio import atomic_write_bytes

TRACKER_FILE = ".scan_tracker.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError, OSError):
        return {"changes_since_backup": 0, "last_backup": None}
    return data if isinstance(data, dict) else {"changes_since_backup": 0, "last_backup": None}


def due(config: Config, data: dict[str, Any], immediate: bool) -> bool:
    if immediate:
        return True
    changes = int(data.get("changes_since_backup", 0))
    if config.sync.backup_on_scan_count and changes >= config.sync.backup_on_scan_count:
        return True
    last = data.get("last_backup")
    if last and config.sync.backup_on_hours:
        elapsed = utc_now() - parse_iso(str(last))
        return elapsed >= timedelta(hours=config.sync.backup_on_hours)
    return False


def count_change(config: Config, immediate: bool = False) -> bool:
    """Record one change; True when an automatic backup is due now."""
    directory = config.database_dir
    path = directory / TRACKER_FILE
    with FileLock(str(directory / (TRACKER_FILE + ".lock")), timeout=30):
        data = _read(path)
        data["changes_since_backup"] = int(data.get("changes_since_backup", 0)) + 1
        data.setdefault("last_backup", None)
        if data["last_backup"] is None:
            data["first_change"] = data.get("first_change") or to_iso(utc_now())
        atomic_write_bytes(path, json.dumps(data, indent=2).encode("utf-8"))
        return due(config, data, immediate)


def mark_backed_up(config: Config) -> None:
    directory = config.database_dir
    with FileLock(str(directory / (TRACKER_FILE + ".lock")), timeout=30):
        data = {"changes_since_backup": 0, "last_backup": to_iso(utc_now())}
        atomic_write_bytes(directory / TRACKER_FILE, json.dumps(data, indent=2).encode("utf-8"))


def maybe_auto_backup(config: Config, operation: str, immediate: bool = False) -> None:
    """Back up both databases when due; a failure is a warning, never a failed command."""
    if not (config.sync.enabled and config.sync.auto_backup):
        return
    if not count_change(config, immediate):
        return
    try:
        from casman.db.schema import DATABASE_NAMES
        from casman.storage.plugins import open_storage
        from casman.sync.backup import backup_database
        from casman.sync.context import SyncContext

        context = SyncContext(config, open_storage(config, purpose="backup", automatic=True))
        for db_name in DATABASE_NAMES:
            backup_database(context, db_name, f"Automatic backup after {operation}")
    except CasmanError as error:
        click.echo(
            f"Warning: automatic backup failed ({error}); your change is saved locally, "
            "run `casman sync backup` later",
            err=True,
        )
        return
    mark_backed_up(config)
    click.echo("Automatic backup done.", err=True)
