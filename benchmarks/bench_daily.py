"""Issue «Daily use without surprises»: how fast reading commands start, and why.

Runs, interleaved in fresh processes (20 rounds by default): the import floor ``python -c
"import click, sqlite3"``, ``casman parts list`` on a 20-part database and ``casman sync
status`` on a ``local`` store; prints the medians and their ratios. Then one ``python -X
importtime`` run of ``casman parts list`` says where its import time goes (cumulative
microseconds of the top-level packages casman imports), and a check in a fresh process
lists what of the sync engine, the storage plugins or file locks it imported (nothing is
the target).

Run: ``.venv/bin/python benchmarks/bench_daily.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR = [sys.executable, "-c", "import click, sqlite3"]


def _casman() -> list[str]:
    found = shutil.which("casman", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "casman"]


def _seconds(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _import_breakdown(env: dict[str, str]) -> dict[str, int]:
    """Cumulative µs of each module ``casman parts list`` imports at the top of a chain."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "casman", "parts", "list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, int] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if match and match.group(3).startswith(("casman", "click")):
            name, depth = match.group(3), len(match.group(2))
            if depth <= 4:
                found[name] = max(found.get(name, 0), int(match.group(1)))
    return found


_PROBE = """
import sys
from casman.cli import main
try:
    main(["parts", "list"])
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.startswith(("casman.sync", "casman.storage"))
               or m.split(".")[0] in {"filelock", "pluggy"})
sys.stderr.write("HEAVY " + " ".join(heavy) + "\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        (base / "home").mkdir()
        env = {key: value for key, value in os.environ.items() if not key.startswith("CASMAN_")}
        env.update(
            HOME=str(base / "home"),
            CASMAN_DATABASE_DIR=str(base / "database"),
            CASMAN_LOCAL_PATH=str(base / "store"),
            CASMAN_SYNC_BACKEND="local",
            CASMAN_AUTO_BACKUP="false",
        )
        for part_type in ("ANTENNA", "LNA"):
            subprocess.run(
                [*_casman(), "-q", "parts", "add", part_type, "10", "1"],
                env=env,
                stdout=subprocess.DEVNULL,
            )
        subprocess.run([*_casman(), "-q", "sync", "sync"], env=env, capture_output=True)
        commands = {
            "floor": FLOOR,
            "parts list": [*_casman(), "parts", "list"],
            "sync status": [*_casman(), "sync", "status"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for command in commands.values():
            _seconds(command, env)  # warm the page cache
        for _ in range(args.rounds):
            for name, command in commands.items():
                times[name].append(_seconds(command, env))
        breakdown = _import_breakdown(env)
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True
        )
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    floor, parts, status = medians["floor"], medians["parts list"], medians["sync status"]
    print(f"| command (fresh process, median of {args.rounds}) | median | ratio |")
    print("|---|---:|---:|")
    print(f'| `python -c "import click, sqlite3"` (the floor) | {floor:.0f} ms | 1.00× |')
    print(f"| `casman parts list` | {parts:.0f} ms | {parts / floor:.2f}× the floor |")
    print(f"| `casman sync status` (local) | {status:.0f} ms | {status / parts:.2f}× parts list |")
    print()
    print("Import time of `casman parts list` by module (cumulative, one `-X importtime` run):")
    print()
    for name, micros in sorted(breakdown.items(), key=lambda item: -item[1])[:12]:
        print(f"- `{name}`: {micros / 1000:.1f} ms")
    heavy = next((x for x in probe.stderr.splitlines() if x.startswith("HEAVY")), "HEAVY ?")
    print()
    print(f"- sync/storage/filelock/pluggy modules imported: {heavy[6:] or 'none'}")


if __name__ == "__main__":
    main()
