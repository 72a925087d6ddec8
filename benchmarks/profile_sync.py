"""Where the time of section 6's slow figures goes, at 100× (cProfile, cumulative).

    .venv/bin/python benchmarks/profile_sync.py [--top N]

Builds the 100× database (with its genesis records), publishes it from site A, lets a new
site B download it, makes one scan at each site and profiles, in this order: B's sync
(A's scan arrives older than B's own newest record), A's sync, one checkpoint, and
``restore --at … --output`` of a recent moment. Prints the top functions of each by
cumulative time (the profiler slows everything by about a third). Measures nothing else
and asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sync import scan, sync_env
from builders import ANTENNAS_100X, CHURNED_100X, add_spare_pairs, build_full_array
from common import environment

from casman.config import load_config
from casman.sync.checkpoint import take_checkpoint
from casman.sync.engine import converge
from casman.sync.restore import moments, restore_to_folder
from casman.sync.session import Session, open_session


def profile(label: str, action: Callable[[], object], top: int) -> None:
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    action()
    profiler.disable()
    print(f"\n== {label}: {time.perf_counter() - began:.2f} s (profiled)")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(top)
    print("\n".join(line for line in text.getvalue().splitlines()[6:] if line.strip()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--top", type=int, default=18, help="functions shown per figure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="casman-profile-") as name:
        root = Path(name)
        store = root / "store"
        envs = {site: sync_env(root, site, store) for site in ("a", "b")}
        a_dir = Path(envs["a"]["CASMAN_DATABASE_DIR"] or "")
        build_full_array(a_dir, ANTENNAS_100X, CHURNED_100X)
        pairs = iter(add_spare_pairs(a_dir, 20_001, 4))

        def session(site: str) -> Session:
            with environment(envs[site]):
                return open_session(load_config(), purpose="profile")

        a, b = session("a"), session("b")
        for site in (a, b, b, a):
            converge(site)
        scan(a.database_dir, next(pairs))
        scan(b.database_dir, next(pairs))
        converge(a)
        profile("B's sync: A's scan arrives, B publishes its own", lambda: converge(b), args.top)
        profile("A's sync: B's scan arrives", lambda: converge(a), args.top)
        profile("one checkpoint (take_checkpoint)", lambda: take_checkpoint(a, 3), args.top)
        moment = moments(a.database_dir)[-3].at
        profile(
            "restore --at a recent moment --output DIR",
            lambda: restore_to_folder(a.database_dir, moment, root / "restored"),
            args.top,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
