"""The detached publisher: ``python -m casman.sync.uploader --database-dir DIR``.

Started after a change (:mod:`casman.sync.auto`). It takes the *waiting* slot without
blocking (if another publisher already waits, that one will see this change: exit), then
the *running* lock (blocking), gives up the waiting slot, and syncs until nothing waits.
It writes one line per run to ``.casman-publisher.log`` (bounded).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from casman.config import Config, load_config
from casman.errors import CasmanError
from casman.sync.session import Session

MAX_ROUNDS = 5
WAITING_LOCK = ".casman-publisher.waiting"
RUNNING_LOCK = ".casman-publisher.running"


@contextlib.contextmanager
def _flock(path: Path, *, block: bool) -> Iterator[bool]:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def run(database_dir: Path, config_path: str | None) -> str:
    """One publisher run; returns the line it logs."""
    from casman.sync.engine import converge
    from casman.sync.offsite import pending
    from casman.sync.session import open_session

    config = dataclasses.replace(load_config(config_path), database_dir=database_dir)
    if not config.sync.enabled:
        return "sync is disabled; nothing sent"
    database_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as waiting_slot:
        if not waiting_slot.enter_context(_flock(database_dir / WAITING_LOCK, block=False)):
            return "another publisher is waiting; it takes this change along"
        with _flock(database_dir / RUNNING_LOCK, block=True):
            waiting_slot.close()  # from here on, a new change starts a new waiter
            published = fetched = 0
            for _ in range(MAX_ROUNDS):
                session = open_session(config, purpose="backup", automatic=True)
                outcome = converge(session, wait=120.0)
                published += outcome.published
                fetched += outcome.fetched
                if not pending(database_dir).count:
                    break
            line = f"published {published} change(s), received {fetched}"
            made = checkpoint_if_due(session, config)
            return f"{line}; checkpoint {made}" if made else line
    raise AssertionError("unreachable")  # pragma: no cover


def checkpoint_if_due(session: Session, config: Config) -> str | None:
    """A checkpoint when the newest one is older than ``backup_on_hours`` and changes were
    made since: rarely and by policy, never per change (the records already are off-site)."""
    from casman.domain.timestamps import parse_iso
    from casman.sync.checkpoint import take_checkpoint
    from casman.sync.offsite import newest_stamp
    from casman.sync.store.head import read_head

    hours = config.sync.backup_on_hours
    if hours <= 0:
        return None
    head = read_head(session.storage)
    if head is None:
        return None
    newest = head.checkpoints[0] if head.checkpoints else None
    stamp = newest_stamp(session.database_dir)
    if newest is not None:
        age = (session.clock() - parse_iso(newest.created)).total_seconds() / 3600
        if age < hours or stamp <= newest.newest:
            return None
    elif stamp == 0:
        return None
    result = take_checkpoint(session, config.sync.keep_versions)
    return result.checkpoint.created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casman.sync.uploader")
    parser.add_argument("--database-dir", required=True)
    parser.add_argument("--config")
    args = parser.parse_args(argv)
    from casman.domain.timestamps import now_iso

    try:
        line = run(Path(args.database_dir), args.config)
    except CasmanError as error:
        line = f"failed (the changes wait in the database): {error}"
    print(f"{now_iso()} {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
