"""Issue «Pluggable backups»: backup and restore on the ``local`` backend, and the requests
every sync command sends (counted by a throwaway ``casman_storage_op`` wrapper).

The sync engine is driven through its Python API (``casman.sync.*``) with a
:class:`SyncContext` built exactly as the CLI builds it: ``load_config`` +
``open_storage``. The request-count scenarios are shared with the S3 benchmark.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from builders import build_sized, build_small, touch
from common import (
    TABLE_HEADER,
    OpKey,
    Pair,
    counting_requests,
    environment,
    fmt_bytes,
    ops_table,
    paired,
    timed,
)

from casman.config import load_config
from casman.db.schema import DATABASE_NAMES, PARTS_DB
from casman.storage.plugins import open_storage
from casman.sync.backup import backup_database
from casman.sync.catalog import list_backups
from casman.sync.context import SyncContext
from casman.sync.converge import converge
from casman.sync.head import load_head
from casman.sync.install import SAFETY_DIR
from casman.sync.maintain import maintain
from casman.sync.restore import restore
from casman.sync.state import STATE_FILE
from casman.sync.status import status

MIB = 1024 * 1024
SIZES_BYTES = (1 * MIB, 20 * MIB)
KEEP_VERSIONS = 10


@dataclass
class Sizes:
    runs: int


FULL = Sizes(runs=9)
QUICK = Sizes(runs=3)


def write_config(path: Path) -> Path:
    """An explicit config.yaml so nothing from ``~/.config/casman`` leaks in."""
    path.write_text(f"database:\n  sync:\n    keep_versions: {KEEP_VERSIONS}\n", encoding="utf-8")
    return path


def sync_env(root: Path) -> dict[str, str | None]:
    """The environment of one scenario: its own database folder, backup folder, config."""
    root.mkdir(parents=True, exist_ok=True)
    return {
        "CASMAN_DATABASE_DIR": str(root / "db"),
        "CASMAN_LOCAL_PATH": str(root / "remote"),
        "CASMAN_CONFIG": str(write_config(root / "config.yaml")),
        "CASMAN_SYNC_BACKEND": None,
        "CASMAN_TRACE_PLUGINS": None,
    }


def make_context(backend: str, clock: Callable[[], datetime] | None = None) -> SyncContext:
    """What the CLI builds for a sync command (optionally with a stepping clock)."""
    config = load_config()
    storage = open_storage(config, backend, purpose="benchmark")
    return SyncContext(config, storage) if clock is None else SyncContext(config, storage, clock)


class SteppingClock:
    """One second later at every reading, shared by both "machines" of the count scenarios.

    Backup keys have one-second resolution; the scenarios make a dozen backups per second,
    so with the wall clock the keys would run ahead of real time and the other machine's
    backup would sort as *older* than this one's. A stepping clock keeps the story true.
    """

    def __init__(self) -> None:
        self.moment = datetime(2025, 6, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


class Stamps:
    """Distinct values for :func:`builders.touch`."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"2025-06-01T00:00:00Z#{self.count}"


# --- baselines -----------------------------------------------------------------------------


def sqlite_backup_and_copy(
    source: Path, temp: Path, destination: Path, durable: bool = False
) -> float:
    """SQLite's ``Connection.backup`` into a fresh file, then ``shutil.copyfile`` of it.

    ``durable`` also fsyncs the copy, as casman must for a stored object (temp file + fsync
    + rename): the figure that shows what the fsync itself costs on this disk.
    """
    for path in (temp, destination):
        path.unlink(missing_ok=True)

    def run() -> None:
        reader = sqlite3.connect(source)
        writer = sqlite3.connect(temp)
        try:
            reader.backup(writer)
        finally:
            writer.close()
            reader.close()
        shutil.copyfile(temp, destination)
        if durable:
            with open(destination, "rb+") as stream:
                os.fsync(stream.fileno())

    return timed(run)


# --- request counts (shared with the S3 benchmark) -------------------------------------------


@contextmanager
def _other_machine(root: Path, backend: str, clock: SteppingClock) -> Iterator[SyncContext]:
    """A second database folder (a copy of this one, state included) on the same backend."""
    env = sync_env(root / "other")
    shutil.copytree(load_config().database_dir, root / "other" / "db")
    env["CASMAN_LOCAL_PATH"] = os.environ["CASMAN_LOCAL_PATH"]  # the same backup folder
    with environment(env):
        yield make_context(backend, clock)


def count_scenarios(root: Path, backend: str) -> list[tuple[str, Counter[OpKey]]]:
    """Every sync command once, on small databases, counting the requests each sends.

    Needs the backend's environment already set (for ``s3``: bucket, endpoint, keys).
    """
    stamps = Stamps()
    env = sync_env(root)
    results: list[tuple[str, Counter[OpKey]]] = []
    with environment(env), counting_requests() as counter:
        build_small(Path(env["CASMAN_DATABASE_DIR"] or ""))
        clock = SteppingClock()
        context = make_context(backend, clock)
        directory = context.database_dir

        def touch_all() -> None:
            for db_name in DATABASE_NAMES:
                touch(directory, db_name, stamps.next())

        def backup_all() -> None:
            for db_name in DATABASE_NAMES:
                backup_database(context, db_name, "benchmark")

        def record(scenario: str, action: Callable[[], object]) -> None:
            results.append((scenario, counter.measure(action)))

        record("`sync backup`, first ever (2 databases, empty backend)", backup_all)
        touch_all()
        record("`sync backup`, both databases changed", backup_all)
        record("`sync backup`, nothing changed", backup_all)
        while len(list_backups(context.storage, PARTS_DB)) < KEEP_VERSIONS:
            touch_all()
            backup_all()
        touch_all()
        record(
            f"`sync backup`, both changed, at retention ({KEEP_VERSIONS} kept per database)",
            backup_all,
        )
        backups = len(list_backups(context.storage))
        record(
            f"`sync list` ({backups} backups)",
            lambda: [load_head(context, name).versions for name in DATABASE_NAMES],
        )
        record("`sync status`", lambda: status(context))
        record(
            "`sync sync`, nothing to do (no-op)",
            lambda: [converge(context, name) for name in DATABASE_NAMES],
        )
        with _other_machine(root, backend, clock) as other:
            for db_name in DATABASE_NAMES:
                touch(other.database_dir, db_name, stamps.next())
                backup_database(other, db_name, "benchmark on another machine")
        record(
            "`sync sync`, another machine backed up both (2 downloads)",
            lambda: [converge(context, name) for name in DATABASE_NAMES],
        )
        older = list_backups(context.storage, PARTS_DB)[3].name
        record(
            "`sync restore KEY` (parts.db; current already backed up)",
            lambda: restore(context, older),
        )
        touch(directory, PARTS_DB, stamps.next())
        record(
            "`sync restore KEY` (parts.db; current changed → safety backup uploaded)",
            lambda: restore(context, older),
        )
        record(
            "`sync restore KEY --no-backup` (parts.db)",
            lambda: restore(context, older, remote_backup=False),
        )
        backups = len(list_backups(context.storage))
        record(f"`sync maintain` ({backups} backups)", lambda: maintain(context))
    return results


OLD_COSTS = {
    "`sync backup`, both databases changed": "4 Class A (issue)",
    "`sync backup`, nothing changed": "4 Class A (issue)",
    "`sync sync`, nothing to do (no-op)": "a LIST per sync (issue)",
}


def ops_lines(results: list[tuple[str, Counter[OpKey]]]) -> list[str]:
    return ops_table([(scenario, ops, OLD_COSTS.get(scenario, "—")) for scenario, ops in results])


# --- timings on the local backend --------------------------------------------------------------


def time_size(root: Path, size: int, sizes: Sizes) -> tuple[int, list[Pair]]:
    """Backup and restore of one parts.db of ``size`` bytes, against the SQLite baseline."""
    env = sync_env(root)
    stamps = Stamps()
    with environment(env):
        directory = Path(env["CASMAN_DATABASE_DIR"] or "")
        actual = build_sized(directory, size)
        context = make_context("local")
        source = directory / PARTS_DB
        temp, copy = root / "baseline.tmp", root / "baseline.copy"
        label = fmt_bytes(actual)
        baseline_label = "`Connection.backup` + `shutil.copyfile`"

        def baseline() -> float:
            return sqlite_backup_and_copy(source, temp, copy)

        def one_backup() -> float:
            touch(directory, PARTS_DB, stamps.next())
            return timed(lambda: backup_database(context, PARTS_DB, "benchmark"))

        backup_pair = paired(
            Pair(f"backup to `local`, {label} parts.db", baseline_label),
            one_backup,
            baseline,
            sizes.runs,
        )
        durable_pair = paired(
            Pair(
                f"backup to `local`, {label} parts.db",
                "`Connection.backup` + `shutil.copyfile` + fsync of the copy",
            ),
            one_backup,
            lambda: sqlite_backup_and_copy(source, temp, copy, durable=True),
            sizes.runs,
        )
        newest = list_backups(context.storage, PARTS_DB)[0].name

        def one_restore(remote_backup: bool) -> Callable[[], float]:
            def run() -> float:
                shutil.rmtree(directory / SAFETY_DIR, ignore_errors=True)
                return timed(lambda: restore(context, newest, remote_backup=remote_backup))

            return run

        restore_pair = paired(
            Pair(f"restore from `local` (default: safety copies), {label}", baseline_label),
            one_restore(True),
            baseline,
            sizes.runs,
        )
        restore_nb_pair = paired(
            Pair(f"restore from `local` `--no-backup`, {label}", baseline_label),
            one_restore(False),
            baseline,
            sizes.runs,
        )
        if not (directory / STATE_FILE).exists():
            raise RuntimeError("the sync state was never written")
    return actual, [backup_pair, durable_pair, restore_pair, restore_nb_pair]


def run(sizes: Sizes) -> list[str]:
    pairs: list[Pair] = []
    with tempfile.TemporaryDirectory(prefix="casman-bench-sync-") as name:
        work = Path(name)
        for index, size in enumerate(SIZES_BYTES):
            _, found = time_size(work / f"size{index}", size, sizes)
            pairs += found
        counts = count_scenarios(work / "counts", "local")
    return [
        "### 2. Sync on the `local` backend (issue «Pluggable backups»)",
        "",
        TABLE_HEADER,
        *(pair.row() for pair in pairs),
        "",
        "- Each backup follows a one-row change, so every timed backup uploads; "
        f"`keep_versions` is {KEEP_VERSIONS}, so once 10 versions exist each backup also "
        "deletes the oldest (as in steady use).",
        "- A casman backup = online snapshot (`Connection.backup`) + fsync + SHA-256 + record "
        "count, one LIST, one PUT (temp file, fsync, atomic link), sync-state update, "
        "retention. A restore = GET + SHA-256 check + `PRAGMA integrity_check` + schema check + "
        "a local safety snapshot + (default) a remote safety backup (here unchanged, so no "
        "upload) + atomic install. The baseline does neither fsync nor checks.",
        "",
        "Requests per command on `local` (the billing classes are the default cost model's; "
        "the local disk is not billed and no quota is enforced):",
        "",
        *ops_lines(counts),
    ]
