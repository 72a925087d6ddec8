"""Issue «Offline-first automatic backups»: a scan is never slowed by a backup.

``casman assembly connect`` is run as a real process (what a technician waits for), 25
times in each of three setups, interleaved so the machine's noise hits all alike:

- sync disabled (``CASMAN_SYNC_ENABLED=false``): the floor;
- automatic backups on, backend reachable (``local``);
- automatic backups on, backend blackholed (S3 endpoint that accepts and never answers).

With ``backup_on_scan_count: 5`` five of the 25 connects make a backup due; the command
returns as soon as its row is committed and a detached uploader does the rest. Reported:
median seconds per connect and the ratio to the floor.

    .venv/bin/python benchmarks/bench_auto.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCANS = 25
QUICK = 5

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "casman_s3"))


def _casman() -> list[str]:
    exe = Path(sys.executable).parent / "casman"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "casman"]


def _env(root: Path, name: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASMAN_", "R2_"))}
    config = root / f"{name}.yaml"
    config.write_text("database:\n  sync:\n    backup_on_scan_count: 5\n")
    env.update(
        CASMAN_DATABASE_DIR=str(root / name / "db"),
        CASMAN_LOCAL_PATH=str(root / name / "store"),
        CASMAN_CONFIG=str(config),
        HOME=str(root / "home"),
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
    )
    env.update(extra)
    return env


def _run(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([*_casman(), *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(scans: int = SCANS) -> dict[str, list[float]]:
    from casman_s3.testing import blackhole

    with tempfile.TemporaryDirectory() as tmp, blackhole() as dead:
        root = Path(tmp)
        setups = {
            "sync disabled (floor)": _env(root, "off", CASMAN_SYNC_ENABLED="false"),
            "auto backup, backend reachable (local)": _env(root, "local"),
            "auto backup, backend blackholed (s3)": _env(
                root,
                "dead",
                CASMAN_SYNC_BACKEND="s3",
                CASMAN_S3_BUCKET="bench",
                CASMAN_S3_ENDPOINT=dead.url,
            ),
        }
        for env in setups.values():
            env_off = dict(env, CASMAN_AUTO_BACKUP="false")  # setup is not measured
            _run(env_off, "parts", "add", "ANTENNA", str(scans), "1")
            _run(env_off, "parts", "add", "LNA", str(scans), "1")
        times: dict[str, list[float]] = {name: [] for name in setups}
        for n in range(1, scans + 1):
            for name, env in setups.items():
                times[name].append(
                    _run(env, "assembly", "connect", f"ANT{n:05d}P1", f"LNA{n:05d}P1")
                )
        return times


def table(times: dict[str, list[float]]) -> list[str]:
    floor = statistics.median(next(iter(times.values())))
    lines = [
        f"`casman assembly connect` as a process, {len(next(iter(times.values())))} runs each, "
        "interleaved; backup_on_scan_count 5:",
        "",
        "| setup | median | × floor |",
        "| --- | --- | --- |",
    ]
    for name, values in times.items():
        median = statistics.median(values)
        lines.append(f"| {name} | {median * 1000:.0f} ms | {median / floor:.2f}× |")
    return lines


def run(scans: int = SCANS) -> list[str]:
    return [
        "### 5. Automatic backups never slow a scan (issue «Offline-first automatic backups»)",
        "",
        *table(measure(scans)),
    ]


if __name__ == "__main__":
    print("\n".join(run(QUICK if "--quick" in sys.argv else SCANS)))
