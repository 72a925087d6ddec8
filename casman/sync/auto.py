"""Automatic backups: an implementation of the ``casman_after_change`` hook.

The spec's triggers — after every part generation, and every ``backup_on_scan_count``
changes or ``backup_on_hours`` hours with changes — are counted here, once per committed
change, whatever command made it. The command that made the change never waits for the
network: a due backup is marked in the scan tracker and a detached uploader process
(:mod:`casman.sync.uploader`) takes the snapshot into the outbox and publishes it. With the
link down the snapshot simply waits in the outbox; any later trigger, any ``casman sync``
command and ``casman sync push`` publish what waits, in order.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from casman.config import Config
from casman.db.changes import Change
from casman.domain.timestamps import utc_now
from casman.storage.hookspecs import hookimpl
from casman.sync.tracker import ScanTracker

AUTO_BACKUP_ENV = "CASMAN_AUTO_BACKUP"
PLUGIN_NAME = "casman.sync.auto"
LOG_NAME = "uploader.log"
LOG_LIMIT_BYTES = 256 * 1024
log = logging.getLogger("casman.sync")


def automatic_backups_on(config: Config) -> bool:
    """Sync enabled, automatic backups not turned off (config or ``CASMAN_AUTO_BACKUP``)."""
    if not config.sync.enabled:
        return False
    override = os.environ.get(AUTO_BACKUP_ENV, "").strip().lower()
    if override in ("0", "false", "no", "off"):
        return False
    if override in ("1", "true", "yes", "on"):
        return True
    return config.sync.auto_backup


def launch_uploader(config: Config, database_dir: Path) -> None:
    """Start ``python -m casman.sync.uploader`` detached; return at once."""
    from casman.sync.outbox import outbox_dir

    folder = outbox_dir(database_dir)
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / LOG_NAME
    if log_path.exists() and log_path.stat().st_size > LOG_LIMIT_BYTES:
        log_path.replace(folder / (LOG_NAME + ".1"))  # one old log kept: bounded
    args = [sys.executable, "-m", "casman.sync.uploader", "--database-dir", str(database_dir)]
    if config.source is not None:
        args += ["--config", str(Path(config.source).resolve())]
    with open(log_path, "ab") as log_file:
        subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
            close_fds=True,
        )


class AutoBackupPlugin:
    """Counts every committed change; marks a backup due and hands it to the uploader."""

    @hookimpl
    def casman_after_change(self, config: Config, database_dir: Path, change: Change) -> None:
        if not config.sync.enabled:
            return
        automatic = automatic_backups_on(config)
        try:
            # counted even with automatic backups off: status and the stale-copy warning
            # say how much local work is not off-site
            due = ScanTracker(database_dir).count(
                change.db_name,
                change.kind,
                change.count,
                config.sync,
                utc_now(),
                queue=automatic,
            )
            if due:
                launch_uploader(config, database_dir)
        except (OSError, Exception) as error:  # the change is committed: never fail it
            log.warning("automatic backup not scheduled: %s", error)


def fire_after_change(config: Config, database_dir: Path, change: Change) -> None:
    """Fire the ``casman_after_change`` hook, casman's automatic backups registered on it.

    The program that writes (the CLI) subscribes this to :mod:`casman.db.changes`.
    """
    from casman.storage.plugins import get_plugin_manager

    pm = get_plugin_manager()
    if pm.get_plugin(PLUGIN_NAME) is None:
        pm.register(AutoBackupPlugin(), name=PLUGIN_NAME)
    pm.hook.casman_after_change(config=config, database_dir=database_dir, change=change)
