"""The detached uploader: ``python -m casman.sync.uploader --database-dir DIR``.

Started by an automatic-backup trigger, it takes the due snapshots into the outbox and
publishes the outbox. Only one runs per database directory (the outbox lock); a second one
exits at once. It goes round while new backups become due during its upload, then exits:
nothing runs in the background when there is nothing to do. It writes one line per run to
``outbox/uploader.log``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from casman.config import load_config
from casman.errors import CasmanError
from casman.sync.outbox import OutboxBusyError, flush, locked, snapshot_due
from casman.sync.tracker import ScanTracker

MAX_ROUNDS = 5


def run(database_dir: Path, config_path: str | None) -> str:
    """One uploader run; returns the line it logs."""
    import dataclasses

    from casman.storage.plugins import open_storage
    from casman.sync.context import SyncContext

    config = dataclasses.replace(load_config(config_path), database_dir=database_dir)
    if not config.sync.enabled:
        return "sync is disabled; nothing sent"
    try:
        with locked(database_dir, wait=0):
            context = SyncContext(config, open_storage(config, purpose="backup", automatic=True))
            published: list[str] = []
            for _ in range(MAX_ROUNDS):
                made = snapshot_due(context)
                report = flush(context)
                published += report.published + report.merged
                if report.error:
                    return f"queued {report.remaining}; upload failed: {report.error}"
                tracks = ScanTracker(database_dir).read()
                if not made and all(
                    t.queued_serial <= t.backed_up_serial for t in tracks.databases.values()
                ):
                    break
            return f"published {len(published)} version(s): {', '.join(published) or '-'}"
    except OutboxBusyError:
        return "another uploader is running"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casman.sync.uploader")
    parser.add_argument("--database-dir", required=True)
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    from casman.domain.timestamps import now_iso

    try:
        line = run(Path(args.database_dir), args.config)
    except CasmanError as error:
        line = f"failed: {error}"
    print(f"{now_iso()} {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
