"""Automatic publishing never slows a scan (issues «Offline-first automatic backups», 20).

``casman assembly connect`` is run as a real process (what a technician waits for),
``SCANS`` times in each of three setups, interleaved so the machine's noise hits all alike:

- sync disabled (``CASMAN_SYNC_ENABLED=false``): the floor;
- automatic publishing on, store reachable (``local``);
- automatic publishing on, store blackholed (an S3 endpoint that accepts and never answers).

With automatic publishing on, every committed scan starts a detached publisher
(``python -m casman.sync.uploader``); the command returns as soon as its row is committed.
Reported: median seconds per connect and the ratio to the floor. The publishers still
running at the end (the blackholed ones wait for their timeouts) are waited for, then
ended by their process ids.

    .venv/bin/python benchmarks/bench_auto.py [--quick]
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCANS = 15
QUICK = 4

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "casman_s3"))


def _casman() -> list[str]:
    exe = Path(sys.executable).parent / "casman"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "casman"]


def _env(root: Path, name: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASMAN_", "R2_", "AWS_"))}
    env.update(
        CASMAN_DATABASE_DIR=str(root / name / "db"),
        CASMAN_LOCAL_PATH=str(root / name / "store"),
        HOME=str(root / "home"),
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(root / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(root / "no-aws-credentials"),
    )
    env.update(extra)
    return env


def _run(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([*_casman(), *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _publishers(root: Path) -> list[int]:
    """Process ids of the publishers started for database folders under ``root``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"casman.sync.uploader" in command and any(str(root).encode() in a for a in command):
            found.append(int(entry.name))
    return found


def _finish_publishers(root: Path, wait: float = 20.0) -> int:
    """Wait up to ``wait`` s for this run's publishers; end the rest. Returns how many
    had to be ended."""
    deadline = time.monotonic() + wait
    while _publishers(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _publishers(root)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    return len(left)


def measure(scans: int = SCANS) -> tuple[dict[str, list[float]], int]:
    from casman_s3.testing import blackhole

    with tempfile.TemporaryDirectory(prefix="casman-bench-auto-") as tmp, blackhole() as dead:
        root = Path(tmp)
        setups = {
            "sync disabled (floor)": _env(root, "off", CASMAN_SYNC_ENABLED="false"),
            "automatic publishing, store reachable (`local`)": _env(root, "local"),
            "automatic publishing, store blackholed (`s3`)": _env(
                root,
                "dead",
                CASMAN_SYNC_BACKEND="s3",
                CASMAN_S3_BUCKET="bench",
                CASMAN_S3_ENDPOINT=dead.url,
            ),
        }
        for env in setups.values():
            setup = dict(env, CASMAN_AUTO_BACKUP="false")  # not measured
            _run(setup, "parts", "add", "ANTENNA", str(scans), "P1")
            _run(setup, "parts", "add", "LNA", str(scans), "P1")
        times: dict[str, list[float]] = {name: [] for name in setups}
        for n in range(1, scans + 1):
            order = list(setups.items())
            for name, env in order if n % 2 else reversed(order):
                times[name].append(
                    _run(env, "assembly", "connect", f"ANT{n:05d}P1", f"LNA{n:05d}P1")
                )
        ended = _finish_publishers(root)
    return times, ended


def table(times: dict[str, list[float]], ended: int) -> list[str]:
    floor = statistics.median(next(iter(times.values())))
    runs = len(next(iter(times.values())))
    lines = [
        f"`casman assembly connect` as a process, {runs} runs each, interleaved:",
        "",
        "| setup | median | × floor |",
        "| --- | --- | --- |",
    ]
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median * 1000:.0f} ms | {median / floor:.2f}× |")
    lines += [
        "",
        f"- Each scan with automatic publishing on started a detached publisher; {ended} "
        "still running 20 s after the last scan (blackholed) were ended by the script.",
    ]
    return lines


def run(scans: int = SCANS) -> list[str]:
    return [
        "### 5. Automatic publishing never slows a scan (issues «Offline-first automatic "
        "backups», 20)",
        "",
        *table(*measure(scans)),
    ]


if __name__ == "__main__":
    print("\n".join(run(QUICK if "--quick" in sys.argv else SCANS)))
