"""Issue 20 side by side: casman's record engine and Litestream, the same scripted work.

    .venv/bin/python benchmarks/bench_sync_scale.py            # both sizes; rewrites its block
    .venv/bin/python benchmarks/bench_sync_scale.py --quick    # few runs; prints only

At two sizes (the quick start's demo database, and 100× the full build-out with the genesis
records of an adopted database), one database folder is copied to two sites:

- **casman**: site A publishes to a ``local`` store; site B (a new, empty site) joins later;
- **Litestream**: site L, the same files, replicated by ``litestream replicate`` (defaults)
  to a file replica; casman's own sync is off there.

The script (a *scan* is one ``assembly.connect`` of a fresh ANTENNA → LNA pair through
casman's database layer: rows + one change record, as ``casman assembly connect`` commits):

1. first publish: A's first ``converge``; Litestream's first snapshot;
2. 100 scans on each side, interleaved; after each, what the idle site's background
   publisher does within a second: casman's publisher run (``casman.sync.uploader.run`` in
   this process: ``converge``, then a checkpoint when ``backup_on_hours`` says one is due,
   so its first run makes one); Litestream a forced ``litestream sync -wait`` of both
   databases (its own timer does the same within a second). Store growth per scan, store
   size after the scans, and how many of the moments can be restored: casman from the
   records in the store's segments (``restore --at`` selects exactly the scans up to it),
   Litestream by its own planner (``restore -dry-run -txid``, once it has stopped); some of
   each restored into a folder and checked;
3. latency: ``casman assembly connect`` as a real process, automatic publishing on (the
   detached publisher) at A, Litestream's own timer at L; the store is polled from the
   moment the process exits until the scan is in it (the head names its segment / both
   LTX files are there); the site is left idle before the next scan. Measured, never
   asserted;
4. two sites diverging by one scan each: B's first sync (a full download), then A and B
   each make one scan and A, B, A sync: bytes moved and time, against the full download
   and against copying the two database files (the floor of any download); B's peak memory
   in a fresh process;
5. a checkpoint (``take_checkpoint``: snapshot, upload, name in the head) against the floor
   measured in the same run (SQLite backup API into a file in the store's folder + fsync),
   and its peak memory in a fresh process against the database size;
6. the no-op ``casman sync sync`` as a process, against ``casman parts list --type SNAP``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sync import scan, write_config
from builders import ANTENNAS_100X, CHURNED_100X, add_spare_pairs, build_demo, build_full_array
from common import OpCounter, Pair, environment, fmt_bytes, paired, timed, tree_size
from issue20_report import SizeResult, report
from litestream_run import Litestream, binary

from casman.config import load_config
from casman.db.schema import ASSEMBLY_DB, DATABASE_NAMES, PARTS_DB
from casman.domain import hlc
from casman.domain.records import ChangeRecord
from casman.storage.plugins import get_plugin_manager, reset_plugin_manager
from casman.sync.checkpoint import take_checkpoint
from casman.sync.engine import converge
from casman.sync.restore import restore_to_folder, up_to
from casman.sync.session import Session, open_session
from casman.sync.store import segments
from casman.sync.uploader import run as publisher_run

START = "<!-- sync-scale:start -->"
END = "<!-- sync-scale:end -->"
SPARE_FROM = 20_001
KEEP = 10
Scan = tuple[str, str]


@dataclass(frozen=True)
class Plan:
    scans: int
    latency: int
    converge: int
    checkpoint: int
    no_op: int
    restores: int


FULL = {"demo": Plan(100, 7, 5, 7, 7, 5), "100×": Plan(100, 5, 3, 3, 5, 1)}
QUICK = {"demo": Plan(20, 2, 1, 1, 2, 2), "100×": Plan(20, 2, 1, 1, 2, 1)}


def _casman() -> list[str]:
    exe = Path(sys.executable).parent / "casman"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "casman"]


def pair_size(directory: Path) -> int:
    """Both database files, their WAL checkpointed in first."""
    for name in DATABASE_NAMES:
        conn = sqlite3.connect(directory / name)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    return sum((directory / name).stat().st_size for name in DATABASE_NAMES)


def object_bytes(store: Path) -> int:
    """The store's objects; not the ``local`` backend's metadata sidecars (``…@meta.json``)
    nor its lock, which S3 or R2 do not have."""
    return sum(
        item.stat().st_size for item in store.rglob("*") if item.is_file() and "@" not in item.name
    )


def head_json(store: Path) -> dict[str, object]:
    try:
        data = json.loads((store / "head.json").read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def tip(store: Path, site: str) -> tuple[int, str | None]:
    """(seq, key) of ``site``'s newest segment named by the store's head ((0, None) if none)."""
    sites = head_json(store).get("sites")
    entry = sites.get(site) if isinstance(sites, dict) else None
    if not isinstance(entry, dict):
        return 0, None
    return int(entry["seq"]), str(entry["key"])


def checkpoints_named(store: Path) -> int:
    found = head_json(store).get("checkpoints")
    return len(found) if isinstance(found, list) else 0


def site_id(directory: Path) -> str:
    conn = sqlite3.connect(directory / PARTS_DB)
    try:
        return str(conn.execute("SELECT value FROM casman_meta WHERE name = 'site'").fetchone()[0])
    finally:
        conn.close()


def newest_seq(directory: Path) -> int:
    conn = sqlite3.connect(directory / PARTS_DB)
    try:
        return int(conn.execute("SELECT MAX(seq) FROM casman_changes").fetchone()[0] or 0)
    finally:
        conn.close()


def publisher_idle(directory: Path) -> bool:
    """No automatic publisher runs or waits at this site (both of its locks are free)."""
    for name in (".casman-publisher.running", ".casman-publisher.waiting"):
        path = directory / name
        if not path.exists():
            continue
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        finally:
            os.close(fd)
    return True


def wait_for(condition: Callable[[], bool], timeout: float = 120.0, step: float = 0.005) -> float:
    """Seconds until ``condition()`` holds, polled every ``step``."""
    began = time.perf_counter()
    while not condition():
        if time.perf_counter() - began > timeout:
            raise RuntimeError("timed out waiting for the store")
        time.sleep(step)
    return time.perf_counter() - began


def spread(count: int, wanted: int) -> list[int]:
    """``wanted`` indexes over ``range(count)``: the middle one alone, or both ends and
    evenly between them."""
    if wanted <= 0 or count == 0:
        return []
    if wanted == 1:
        return [count // 2]
    return sorted({round(k * (count - 1) / (wanted - 1)) for k in range(wanted)})


def holds_exactly(assembled: Path, ours: list[Scan], index: int) -> bool:
    """A restored ``assembled_casm.db`` holds scan ``index`` and not the scan after it."""
    conn = sqlite3.connect(assembled)
    try:

        def has(pair: Scan) -> bool:
            row = conn.execute(
                "SELECT 1 FROM assembly WHERE part_number = ? AND connected_to = ?", pair
            ).fetchone()
            return row is not None

        later = ours[index + 1] if index + 1 < len(ours) else None
        return has(ours[index]) and (later is None or not has(later))
    finally:
        conn.close()


# --- a casman site ----------------------------------------------------------------------------


@dataclass
class CasmanSite:
    env: dict[str, str | None]

    @classmethod
    def at(cls, root: Path, name: str, store: Path) -> CasmanSite:
        return cls(
            {
                "CASMAN_DATABASE_DIR": str(root / name),
                "CASMAN_LOCAL_PATH": str(store),
                "CASMAN_CONFIG": str(write_config(root / "config.yaml")),
                "CASMAN_AUTO_BACKUP": "false",
                "CASMAN_SYNC_ENABLED": None,
                "CASMAN_SYNC_BACKEND": None,
                "HOME": str(root / "home"),
            }
        )

    @property
    def directory(self) -> Path:
        return Path(self.env["CASMAN_DATABASE_DIR"] or "")

    @contextlib.contextmanager
    def active(self) -> Iterator[Session]:
        with environment(self.env):
            yield open_session(load_config(), purpose="benchmark")

    def converge(self) -> float:
        with self.active() as session:
            return timed(lambda: converge(session))

    def process_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CASMAN_", "R2_"))}
        env.update({k: v for k, v in self.env.items() if v is not None})
        env.update(extra)
        return env


_MEMORY = """
import json, sys, tracemalloc
from casman.config import load_config
from casman.sync.session import open_session

def high_water():  # peak RSS of this process image (VmHWM is reset by exec, not inherited)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0

session = open_session(load_config(), purpose="benchmark")
if sys.argv[1] == "checkpoint":
    from casman.sync.checkpoint import take_checkpoint as work
    args = (session, int(sys.argv[2]))
else:
    from casman.sync.engine import converge as work
    args = (session,)
before = high_water()
tracemalloc.start()
work(*args)
_, peak = tracemalloc.get_traced_memory()
print(json.dumps({"peak": peak, "rss": high_water() - before}))
"""


def peak_memory(site: CasmanSite, *args: str) -> tuple[int, int]:
    """(peak Python allocation, peak RSS growth) of one checkpoint (``checkpoint KEEP``)
    or one converge (``converge``) at ``site``, in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY, *args],
        env=site.process_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return int(data["peak"]), int(data["rss"])


# --- the script -------------------------------------------------------------------------------


class Script:
    """The scripted work at one size; the figures go into ``self.result``."""

    def __init__(self, root: Path, label: str, plan: Plan, built: Path) -> None:
        self.root, self.plan = root, plan
        self.result = SizeResult(label)
        self.store, self.replica = root / "store", root / "replica"
        self.a = CasmanSite.at(root, "a", self.store)
        self.b = CasmanSite.at(root, "b", self.store)
        spare = plan.scans + 2 * plan.latency + 2 * plan.converge + 4
        self.pairs = iter(add_spare_pairs(built, SPARE_FROM, spare))
        self.result.database = pair_size(built)
        shutil.copytree(built, self.a.directory)
        self.lite = root / "l"
        shutil.copytree(built, self.lite)
        conn = sqlite3.connect(built / PARTS_DB)
        try:
            self.result.records = conn.execute("SELECT COUNT(*) FROM casman_changes").fetchone()[0]
        finally:
            conn.close()
        self.counter = OpCounter()
        self.me = ""
        self.ours: list[Scan] = []
        self.txids: list[dict[str, int]] = []
        executable = binary()
        self.ls = Litestream(executable, self.lite, self.replica, root) if executable else None

    def run(self) -> SizeResult:
        with environment(self.a.env):
            reset_plugin_manager()
            get_plugin_manager().register(self.counter, name="benchmark-op-counter")
        try:
            seconds = self.a.converge()
            self.result.first_publish = (seconds, object_bytes(self.store))
            self.me = site_id(self.a.directory)
            try:
                if self.ls is not None:
                    self.result.first_snapshot = (self.ls.start(), tree_size(self.replica))
                self.scans()
                self.latency()
            finally:
                if self.ls is not None:
                    self.ls.stop()
            self.litestream_moments()  # what the replica holds once nothing writes to it
            self.converge()
            self.checkpoint()
            self.no_op()
        finally:
            reset_plugin_manager()
        return self.result

    # step 2
    def scans(self) -> None:
        seq_before = newest_seq(self.a.directory)
        _, tip_before = tip(self.store, self.me)
        with environment(self.a.env):
            for index in range(self.plan.scans):
                pair = next(self.pairs)
                self.ours.append(pair)
                first, second = (self.casman_scan, self.litestream_scan)[:: 1 if index % 2 else -1]
                first(pair)
                second(pair)
        self.result.after_scans = {
            "casman": object_bytes(self.store),
            "litestream": tree_size(self.replica),
        }
        self.result.checkpoints_in_store = checkpoints_named(self.store)
        self.casman_moments(seq_before, tip_before)

    def casman_scan(self, pair: Scan) -> None:
        before = object_bytes(self.store)
        scan(self.a.directory, pair)
        self.counter.clear()
        config = self.a.env["CASMAN_CONFIG"]
        self.result.publish_seconds.append(timed(lambda: publisher_run(self.a.directory, config)))
        self.result.growth["casman"].append(object_bytes(self.store) - before)
        if self.counter.ops.count(("put", "A")) <= 2:  # not the run that made a checkpoint
            self.result.uploaded.append(self.counter.sent)

    def litestream_scan(self, pair: Scan) -> None:
        if self.ls is None:
            return
        before = tree_size(self.replica)
        scan(self.lite, pair)
        self.txids.append(self.ls.sync_all())
        self.result.growth["litestream"].append(tree_size(self.replica) - before)

    def casman_moments(self, seq_before: int, tip_before: str | None) -> None:
        """A moment is restorable when the scan's record is in a segment the head's chain
        reaches and ``restore --at`` that moment (``up_to``) selects exactly the scans up
        to it; some are restored into a folder and checked."""
        conn = sqlite3.connect(self.a.directory / PARTS_DB)
        try:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM casman_changes WHERE seq > ? ORDER BY seq", (seq_before,)
                )
            ]
        finally:
            conn.close()
        in_store: dict[str, ChangeRecord] = {}
        with self.a.active() as session:
            _, key = tip(self.store, self.me)
            while key is not None and key != tip_before:
                segment = segments.download(session.storage, key)
                in_store.update({r.id: r for r in segment.records})
                key = segment.previous
        scans = set(ids[: self.plan.scans])
        ordered = sorted((in_store[i] for i in scans if i in in_store), key=lambda r: r.order)
        restorable = 0
        for index, record in enumerate(ordered):
            chosen = up_to(ordered, hlc.to_datetime(record.hlc))
            restorable += [r.id for r in chosen] == [r.id for r in ordered[: index + 1]]
        picks = spread(len(ordered), self.plan.restores)
        checked = 0
        for pick in picks:
            folder = self.root / f"restored-{pick}"
            moment = hlc.to_datetime(ordered[pick].hlc)
            self.result.restore_seconds["casman"].append(
                timed(lambda f=folder, m=moment: restore_to_folder(self.a.directory, m, f))
            )
            checked += holds_exactly(folder / ASSEMBLY_DB, self.ours, pick)
            shutil.rmtree(folder)
        self.result.moments["casman"] = restorable
        self.result.checked["casman"] = (
            f"{checked} of {len(picks)} restored and checked" if picks else "none restored"
        )

    def litestream_moments(self) -> None:
        """Scans whose TXID (in both databases) Litestream's planner can restore to
        (``restore -dry-run -txid``, four at a time); some restored and checked."""
        ls = self.ls
        if ls is None:
            return
        asks = [(name, point[name]) for point in self.txids for name in DATABASE_NAMES]
        with ThreadPoolExecutor(4) as pool:
            found = list(pool.map(lambda ask: ls.can_restore(*ask), asks))
        answers = dict(zip(asks, found, strict=True))
        self.result.moments["litestream"] = sum(
            all(answers[(name, point[name])] for name in DATABASE_NAMES) for point in self.txids
        )
        picks = spread(len(self.txids), self.plan.restores)
        checked = 0
        for pick in picks:
            folder = self.root / f"ls-restored-{pick}"
            folder.mkdir()

            def restore_both(point: dict[str, int] = self.txids[pick], out: Path = folder) -> None:
                for name in DATABASE_NAMES:
                    ls.restore(name, point[name], out / name)

            try:
                self.result.restore_seconds["litestream"].append(timed(restore_both))
                checked += holds_exactly(folder / ASSEMBLY_DB, self.ours, pick)
            except RuntimeError as error:  # the replica cannot give that moment back
                print(f"litestream, scan {pick + 1}: {error}", file=sys.stderr)
            shutil.rmtree(folder)
        self.result.checked["litestream"] = (
            f"{checked} of {len(picks)} restored and checked" if picks else "none restored"
        )

    # step 3
    def latency(self) -> None:
        """A scan as a real process; seconds from its exit until it is in the store."""
        before = checkpoints_named(self.store)
        for index in range(self.plan.latency):
            sides = (self.casman_latency, self.litestream_latency)[:: 1 if index % 2 else -1]
            for side in sides:
                side()
                time.sleep(0.2)  # the site idle before the next scan
        self.result.publisher_checkpoints = checkpoints_named(self.store) - before

    def casman_latency(self) -> None:
        env = self.a.process_env(CASMAN_AUTO_BACKUP="true")
        seq, _ = tip(self.store, self.me)
        size = object_bytes(self.store)
        command = [*_casman(), "assembly", "connect", *next(self.pairs)]
        subprocess.run(command, env=env, check=True, capture_output=True)
        self.result.latency["casman"].append(wait_for(lambda: tip(self.store, self.me)[0] > seq))
        wait_for(lambda: publisher_idle(self.a.directory), step=0.02)
        self.result.cli_growth.append(object_bytes(self.store) - size)

    def litestream_latency(self) -> None:
        ls = self.ls
        if ls is None:
            return
        env = self.a.process_env(CASMAN_DATABASE_DIR=str(self.lite), CASMAN_SYNC_ENABLED="false")
        before = {name: ls.newest(name) for name in DATABASE_NAMES}
        command = [*_casman(), "assembly", "connect", *next(self.pairs)]
        subprocess.run(command, env=env, check=True, capture_output=True)
        self.result.latency["litestream"].append(
            wait_for(lambda: all(ls.newest(name) > before[name] for name in DATABASE_NAMES))
        )

    # step 4
    def converge(self) -> None:
        """B's full download, then divergences of one scan at each site, converged."""
        self.counter.clear()
        self.result.full_download = (self.b.converge(), self.counter.moved)
        self.b.converge()
        self.a.converge()
        copies = self.root / "copies"

        def copy_pair() -> float:
            shutil.rmtree(copies, ignore_errors=True)
            copies.mkdir()

            def run() -> None:
                for name in DATABASE_NAMES:
                    shutil.copyfile(self.a.directory / name, copies / name)

            return timed(run)

        for _ in range(self.plan.converge):
            self.result.copy_seconds.append(copy_pair())
            scan(self.a.directory, next(self.pairs))
            scan(self.b.directory, next(self.pairs))
            self.counter.clear()
            steps = [site.converge() for site in (self.a, self.b, self.a)]
            self.result.converge_steps.append(steps)
            self.result.converge_seconds.append(sum(steps))
            self.result.converge_bytes.append(self.counter.moved)
            self.result.copy_seconds.append(copy_pair())
        shutil.rmtree(copies, ignore_errors=True)
        scan(self.a.directory, next(self.pairs))
        scan(self.b.directory, next(self.pairs))
        self.a.converge()
        self.result.converge_memory = peak_memory(self.b, "converge")
        self.a.converge()

    # step 5
    def checkpoint(self) -> None:
        floor = self.root / "floor"
        size = pair_size(self.a.directory)
        with self.a.active() as session:
            self.result.checkpoint = paired(
                Pair(
                    f"checkpoint (`take_checkpoint`), {self.result.label} ({fmt_bytes(size)} pair)",
                    "SQLite backup API + write + fsync, both databases",
                ),
                lambda: timed(lambda: take_checkpoint(session, KEEP)),
                lambda: backup_floor(self.a.directory, floor),
                self.plan.checkpoint,
            )
        shutil.rmtree(floor, ignore_errors=True)
        peak, rss = peak_memory(self.a, "checkpoint", str(KEEP))
        self.result.memory = (peak / size, rss / size, size)

    # step 6
    def no_op(self) -> None:
        env = self.a.process_env()

        def run(*args: str) -> float:
            command = [*_casman(), *args]
            return timed(lambda: subprocess.run(command, env=env, check=True, capture_output=True))

        run("sync", "sync")
        label = self.result.label
        self.result.no_op = paired(
            Pair(
                f"no-op `casman sync sync`, {label} (process)",
                f"`casman parts list --type SNAP`, {label} (process)",
            ),
            lambda: run("sync", "sync"),
            lambda: run("parts", "list", "--type", "SNAP"),
            self.plan.no_op,
        )


def backup_floor(directory: Path, target: Path) -> float:
    """SQLite's backup API into a new file in the store's folder, then fsync; both
    databases (what any checkpoint must at least do)."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)

    def run() -> None:
        for name in DATABASE_NAMES:
            reader = sqlite3.connect(f"{(directory / name).resolve().as_uri()}?mode=ro", uri=True)
            writer = sqlite3.connect(target / name)
            try:
                reader.backup(writer)
            finally:
                writer.close()
                reader.close()
            fd = os.open(target / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    return timed(run)


def build(directory: Path, label: str) -> None:
    if label == "demo":
        build_demo(directory)
    else:
        build_full_array(directory, ANTENNAS_100X, CHURNED_100X)


def run(quick: bool = False) -> list[str]:
    plans = QUICK if quick else FULL
    began = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="casman-bench-issue20-") as name:
        for label, plan in plans.items():
            root = Path(name) / ("big" if label != "demo" else label)
            built = root / "built"
            build(built, label)
            results.append(Script(root, label, plan, built).run())
            shutil.rmtree(root, ignore_errors=True)
    return report(results, time.perf_counter() - began, quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few runs; print, don't write")
    args = parser.parse_args(argv)
    body = run(args.quick)
    print("\n".join(body))
    if not args.quick:
        from run import README, rewrite

        done = rewrite(README, body, START, END)
        print(f"\n{'rewrote' if done else 'no markers in'} {START} … {END}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
