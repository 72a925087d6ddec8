"""Automatic publishing: an implementation of the ``casman_after_change`` hook.

Every committed change is already a record in the site's database, so nothing needs to be
queued: after a change a detached publisher (:mod:`casman.sync.uploader`) is started, which
syncs (publishes the records the store lacks, fetches what the site lacks) and exits when
nothing waits. The command that made the change never waits for the network; offline, the
records simply wait in the database and go with the next successful contact. At most two
publishers exist per site: one running and one waiting (which will see every change
committed before it started), so a burst of scans starts no crowd of processes.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from casman.config import Config
from casman.db.changes import Change
from casman.hookspecs import hookimpl

PLUGIN_NAME = "casman.sync.auto"
LOG_NAME = ".casman-publisher.log"
LOG_LIMIT_BYTES = 256 * 1024
log = logging.getLogger("casman.sync")


def automatic_backups_on(config: Config) -> bool:
    """Sync enabled, automatic publishing not turned off (``auto_backup`` in config.yaml,
    which ``CASMAN_AUTO_BACKUP`` overrides when the configuration is read)."""
    return config.sync.enabled and config.sync.auto_backup


def launch_publisher(config: Config, database_dir: Path) -> None:
    """Start ``python -m casman.sync.uploader`` detached; return at once."""
    database_dir.mkdir(parents=True, exist_ok=True)
    log_path = database_dir / LOG_NAME
    if log_path.exists() and log_path.stat().st_size > LOG_LIMIT_BYTES:
        log_path.replace(database_dir / (LOG_NAME + ".1"))  # one old log kept: bounded
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
    """Starts a publisher after each committed change (automatic publishing on)."""

    @hookimpl
    def casman_after_change(self, config: Config, database_dir: Path, change: Change) -> None:
        del change
        if not automatic_backups_on(config):
            return
        try:
            launch_publisher(config, database_dir)
        except OSError as error:  # the change is committed: never fail it
            log.warning("automatic publishing not started: %s", error)
