"""Issue «Fast at 100×», the sync side: a no-op sync reads nothing, a backup's memory.

    .venv/bin/python benchmarks/bench_sync_scale.py

- ``casman sync sync`` with nothing to do, as a process, on the 100× database and on the
  demo database, against ``casman parts list --type SNAP`` (the issue's comparison) in the
  same run: a no-op sync must not grow with the database.
- peak memory of one backup snapshot (``snapshot_in_memory``): Python's peak allocation
  while taking it (tracemalloc; SQLite's own page cache, 2 MB by default, is not counted),
  as a multiple of the snapshot's size, in a fresh process.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from builders import ANTENNAS_100X, CHURNED_100X, build_demo, build_full_array, build_sized

RUNS = 7
_MEMORY = """
import sys, tracemalloc
from pathlib import Path
from casman.sync.snapshot import snapshot_in_memory
path = Path(sys.argv[1])
tracemalloc.start()
size = snapshot_in_memory(path).size
_, peak = tracemalloc.get_traced_memory()
print(peak / size, size)
"""


def _casman() -> list[str]:
    exe = Path(sys.executable).parent / "casman"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "casman"]


def _timed(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([*_casman(), *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _env(root: Path, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASMAN_")}
    env.update(
        CASMAN_DATABASE_DIR=str(db),
        CASMAN_LOCAL_PATH=str(root / f"store-{db.name}"),
        CASMAN_AUTO_BACKUP="false",
        HOME=str(root / "home"),
    )
    return env


def no_op_sync(root: Path) -> list[str]:
    big, demo = root / "big", root / "demo"
    build_full_array(big, ANTENNAS_100X, CHURNED_100X)
    build_demo(demo)
    envs = {"100×": _env(root, big), "demo": _env(root, demo)}
    for env in envs.values():
        _timed(env, "sync", "sync")
    time.sleep(1.2)  # past the cache's racy window
    for env in envs.values():
        _timed(env, "sync", "sync")
    times: dict[str, list[float]] = {}
    for _ in range(RUNS):
        for name, env in envs.items():
            times.setdefault(f"sync {name}", []).append(_timed(env, "sync", "sync"))
            times.setdefault(f"list {name}", []).append(
                _timed(env, "parts", "list", "--type", "SNAP")
            )
    med = {name: statistics.median(values) for name, values in times.items()}
    return [
        f"No-op `casman sync sync` (processes, {RUNS} interleaved runs each):",
        "",
        "| figure | median | baseline | ratio |",
        "| --- | --- | --- | --- |",
        f"| no-op sync, 100× | {med['sync 100×'] * 1000:.0f} ms | `parts list --type SNAP`, 100× "
        f"({med['list 100×'] * 1000:.0f} ms) | {med['sync 100×'] / med['list 100×']:.2f}× |",
        f"| no-op sync, 100× | {med['sync 100×'] * 1000:.0f} ms | no-op sync, demo "
        f"({med['sync demo'] * 1000:.0f} ms) | {med['sync 100×'] / med['sync demo']:.2f}× |",
    ]


def memory(root: Path) -> list[str]:
    rows = ["", "Peak memory (tracemalloc) while taking one backup snapshot:", ""]
    rows += ["| database | peak / size |", "| --- | --- |"]
    for megabytes in (20, 60):
        folder = root / f"mem{megabytes}"
        build_sized(folder, megabytes * 1024 * 1024)
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY, str(folder / "parts.db")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        ratio, size = out.split()
        rows.append(f"| {int(size) / 1e6:.0f} MB database | {float(ratio):.2f}× |")
    return rows


def run() -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        return ["### 6. Sync at 100× (issue «Fast at 100×»)", "", *no_op_sync(root), *memory(root)]


if __name__ == "__main__":
    print("\n".join(run()))
