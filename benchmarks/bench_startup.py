"""Issue #11: what ``casman sync status`` costs to start on ``local``, with fsspec and without.

casman 0.1's ``local`` backend imported fsspec for five calls that have ``os``
equivalents; today's imports only ``os``. This runs ``casman sync status --json`` on a
local store in fresh processes, twice per round: once as it is, once with fsspec
loaded first as 0.1's backend loaded it, and reports the medians and the difference.
It also checks that the command as it is imports no fsspec.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OLD_BACKEND_IMPORTS = 'import fsspec; fsspec.filesystem("file")'
"""What 0.1's ``LocalBackend.__init__`` did before any request."""

_RUN = """
import sys
{preload}
from casman.cli import main
try:
    main(["sync", "status", "--json"])
except SystemExit:
    pass
sys.stderr.write("FSSPEC " + str("fsspec" in sys.modules) + "\\n")
"""


def _once(preload: str, env: dict[str, str]) -> tuple[float, bool]:
    code = _RUN.format(preload=preload)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    elapsed = time.perf_counter() - start
    json.loads(done.stdout)  # the command really answered
    return elapsed, "FSSPEC True" in done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        (base / "home").mkdir()
        env = {
            **os.environ,
            "HOME": str(base / "home"),
            "CASMAN_DATABASE_DIR": str(base / "database"),
            "CASMAN_LOCAL_PATH": str(base / "store"),
            "CASMAN_SYNC_BACKEND": "local",
            "CASMAN_AUTO_BACKUP": "false",
        }
        env.pop("CASMAN_CONFIG", None)
        _once("", env)  # creates the databases, warms the page cache
        plain: list[float] = []
        with_fsspec: list[float] = []
        imported = False
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            seconds, loaded = _once("", env)
            plain.append(seconds)
            imported |= loaded
            with_fsspec.append(_once(OLD_BACKEND_IMPORTS, env)[0])
    low, high = statistics.median(plain), statistics.median(with_fsspec)
    print("| `casman sync status --json` on `local` (fresh process) | median |")
    print("|---|---|")
    print(f"| as it is (fsspec imported: {'yes' if imported else 'no'}) | {low * 1000:.0f} ms |")
    print(f"| with fsspec loaded as 0.1 did | {high * 1000:.0f} ms |")
    print(f"| difference | {(high - low) * 1000:.0f} ms over {args.rounds} rounds |")


if __name__ == "__main__":
    main()
