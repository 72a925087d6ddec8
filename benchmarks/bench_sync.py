"""The requests (and bytes) every sync command sends, on the record engine (issue 19/20).

Each scenario runs the real CLI in this process (click's ``CliRunner``, the console script's
``cli`` group) with a throwaway ``casman_storage_op`` wrapper registered on casman's plugin
manager, which records each request's kind, its billing class and the bytes it moved. Two
sites (two database folders) share one store. A *scan* is one ``assembly.connect`` of a
fresh ANTENNA → LNA pair through casman's database layer (one change record), exactly what
``casman assembly connect`` commits. The automatic publisher's run after a scan is counted
too (``casman.sync.uploader.run`` in this process), since it is what a scan costs when
automatic publishing is on. Shared with the S3 benchmark (``bench_s3``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from builders import add_spare_pairs, build_demo
from common import OpCounter, OpKey, environment, ops_table

from casman.config import load_config
from casman.db.assembly import connect
from casman.db.connection import open_databases
from casman.db.schema import PARTS_DB
from casman.domain.connections import parse_part
from casman.sync.checkpoint import take_checkpoint
from casman.sync.restore import moments
from casman.sync.session import Session, open_session

KEEP_VERSIONS = 10
SPARE_FROM = 100


def write_config(path: Path) -> Path:
    """An explicit config.yaml so nothing from ``~/.config/casman`` leaks in."""
    path.write_text(f"database:\n  sync:\n    keep_versions: {KEEP_VERSIONS}\n", encoding="utf-8")
    return path


def sync_env(root: Path, site: str, store: Path) -> dict[str, str | None]:
    """One site's environment: its own database folder and HOME, the shared store."""
    root.mkdir(parents=True, exist_ok=True)
    return {
        "CASMAN_DATABASE_DIR": str(root / site),
        "CASMAN_LOCAL_PATH": str(store),
        "CASMAN_CONFIG": str(write_config(root / "config.yaml")),
        "CASMAN_AUTO_BACKUP": "false",
        "CASMAN_SYNC_ENABLED": None,
        "CASMAN_SYNC_BACKEND": None,
        "CASMAN_TRACE_PLUGINS": None,
        "HOME": str(root / "home"),
    }


def scan(directory: Path, pair: tuple[str, str]) -> None:
    """One scan: what ``casman assembly connect`` commits (rows + one change record)."""
    conn = open_databases(directory)
    try:
        connect(conn, parse_part(pair[0]), parse_part(pair[1]))
    finally:
        conn.close()


def next_second() -> None:
    """Wait for the next wall-clock second: a checkpoint's key has one-second resolution,
    and one made in the same second as the previous would first try a taken key (one more
    PUT, refused) — true, but not what a user making one backup sees."""
    time.sleep(1.02 - time.time() % 1)


class SteppingClock:
    """One second later at each reading, from a fixed past day: checkpoints made by the
    script a dozen a second still get distinct keys in real order."""

    def __init__(self) -> None:
        self.moment = datetime(2025, 6, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


@dataclass
class Site:
    """One site: its environment, and the CLI run in this process under it."""

    env: dict[str, str | None]

    @property
    def directory(self) -> Path:
        return Path(self.env["CASMAN_DATABASE_DIR"] or "")

    @contextmanager
    def active(self) -> Iterator[None]:
        from casman.storage.plugins import reset_plugin_manager

        cwd = os.getcwd()
        with environment(self.env):
            os.chdir(self.directory.parent)  # no ./config.yaml of the developer's
            reset_plugin_manager()
            try:
                yield
            finally:
                os.chdir(cwd)

    def cli(self, *args: str) -> str:
        """``casman ARGS`` in this process; the output, or an error naming the command."""
        from click.testing import CliRunner

        from casman.cli import cli
        from casman.db import changes

        before = list(changes._listeners)
        try:
            result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        finally:
            # the CLI subscribes its after-change reaction for its process; in this one,
            # the script's own scans (outside any command) must not trigger it
            for listener in [x for x in changes._listeners if x not in before]:
                changes.unsubscribe(listener)
        if result.exit_code != 0:
            raise RuntimeError(f"casman {' '.join(args)} failed: {result.output}")
        return str(result.output)

    def session(self, clock: Callable[[], datetime] | None = None) -> Session:
        session = open_session(load_config(), purpose="benchmark")
        if clock is not None:
            session.clock = clock
        return session


Counted = tuple[str, Counter[OpKey], int]


def count_scenarios(root: Path, backend_env: dict[str, str | None]) -> list[Counted]:
    """Every sync command once, on the demo database, counting requests and bytes.

    ``backend_env`` selects the backend (empty: ``local`` in ``root/store``; for ``s3``:
    backend, bucket, endpoint, keys).
    """
    store = root / "store"
    a = Site({**sync_env(root, "a", store), **backend_env})
    b = Site({**sync_env(root, "b", store), **backend_env})
    build_demo(a.directory)
    pairs = iter(add_spare_pairs(a.directory, SPARE_FROM, 20))
    results: list[Counted] = []
    counter = OpCounter()

    def record(scenario: str, site: Site, action: Callable[[], object]) -> None:
        with site.active():
            from casman.storage.plugins import get_plugin_manager

            get_plugin_manager().register(counter, name="benchmark-op-counter")
            ops = counter.measure(action)
        results.append((scenario, ops, counter.moved))

    record("`sync sync`, first ever (demo database, empty store)", a, lambda: a.cli("sync", "sync"))
    scan(a.directory, next(pairs))
    record("`sync sync` after one scan", a, lambda: a.cli("sync", "sync"))
    record("`sync sync`, nothing to do (no-op)", a, lambda: a.cli("sync", "sync"))
    scan(a.directory, next(pairs))

    def publisher() -> object:
        from casman.sync.uploader import run

        return run(a.directory, a.env["CASMAN_CONFIG"])

    record(
        "automatic publisher after one scan, the first (`python -m casman.sync.uploader`)",
        a,
        publisher,
    )
    scan(a.directory, next(pairs))
    record("automatic publisher after one scan, any later one", a, publisher)
    record("`sync sync` at a new, empty site (full download)", b, lambda: b.cli("sync", "sync"))
    with b.active():
        b.cli("sync", "sync")
    scan(b.directory, next(pairs))
    with b.active():
        b.cli("sync", "push")
    record("`sync sync`, another site made one scan", a, lambda: a.cli("sync", "sync"))
    scan(a.directory, next(pairs))
    scan(b.directory, next(pairs))
    with b.active():
        b.cli("sync", "sync")
    record("`sync sync`, both sites made one scan", a, lambda: a.cli("sync", "sync"))
    scan(a.directory, next(pairs))
    record("`sync push` after one scan", a, lambda: a.cli("sync", "push"))
    next_second()
    record("`sync backup` (sync + checkpoint), nothing to sync", a, lambda: a.cli("sync", "backup"))
    with a.active():
        session = a.session(SteppingClock())
        while True:
            from casman.sync.store.head import read_head

            head = read_head(session.storage)
            if head is not None and len(head.checkpoints) >= KEEP_VERSIONS:
                break
            take_checkpoint(session, KEEP_VERSIONS)
    scan(a.directory, next(pairs))
    next_second()
    record(
        f"`sync backup` after one scan, at retention ({KEEP_VERSIONS} checkpoints kept)",
        a,
        lambda: a.cli("sync", "backup"),
    )
    record("`sync list`", a, lambda: a.cli("sync", "list"))
    record("`sync status`", a, lambda: a.cli("sync", "status"))
    record("`sync restore --list-times`", a, lambda: a.cli("sync", "restore", "--list-times"))
    middle = moments(a.directory)[-3].at.strftime("%Y-%m-%dT%H:%M:%S.%f")
    output = root / "restored"
    record(
        "`sync restore --at T --output DIR`",
        a,
        lambda: a.cli("sync", "restore", "--at", middle, "--output", str(output)),
    )
    record(
        "`sync restore --at T --yes` (one revert change, then published)",
        a,
        lambda: (a.cli("sync", "restore", "--at", middle, "--yes"), a.cli("sync", "sync")),
    )
    with b.active():
        b.cli("sync", "sync")
    for suffix in ("", "-wal", "-shm"):
        (b.directory / f"{PARTS_DB}{suffix}").unlink(missing_ok=True)
    record(
        "`sync restore` (repair: parts.db lost, rebuilt from the store)",
        b,
        lambda: b.cli("sync", "restore", "--yes"),
    )
    record("`sync maintain`", a, lambda: a.cli("sync", "maintain"))
    record("`sync maintain --deep`", a, lambda: a.cli("sync", "maintain", "--deep"))
    return results


def run() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="casman-bench-sync-") as name:
        counts = count_scenarios(Path(name), {})
        shutil.rmtree(name, ignore_errors=True)
    return [
        "### 2. Requests per sync command on `local` (issues 19 and 20)",
        "",
        "Demo database (the quick start's), two sites sharing one store; each command run "
        "once through the real CLI in this process (billing classes are the default cost "
        "model's; the local disk is not billed). *Bytes moved* = PUT bodies + GET bodies.",
        "",
        *ops_table(counts),
    ]
