"""The installed ``casman`` executable in real subprocesses, including two at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _casman_exe() -> list[str]:
    found = shutil.which("casman", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "casman"]


def run(db: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASMAN_DATABASE_DIR": str(db)}
    return subprocess.run(
        [*_casman_exe(), *args], input=input, capture_output=True, text=True, env=env, timeout=120
    )


def test_entry_point_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = run(tmp_path / "db", "assembly", "connect", "ANT1", "LNA1")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    usage = run(tmp_path / "db", "parts", "add")
    assert usage.returncode == 2


def test_two_scanning_processes_at_once_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "db"
    pairs = 40
    for part_type in ("ANTENNA", "LNA"):
        assert run(db, "parts", "add", part_type, str(pairs), "1").returncode == 0
    scripts = [
        "".join(f"ANT{n:05d}P1\nLNA{n:05d}P1\n" for n in range(start, pairs + 1, 2))
        for start in (1, 2)
    ]
    env = {**os.environ, "CASMAN_DATABASE_DIR": str(db)}
    processes = [
        subprocess.Popen(
            [*_casman_exe(), "scan", "connection"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in scripts
    ]
    outputs = [
        p.communicate(script, timeout=120) for p, script in zip(processes, scripts, strict=True)
    ]
    assert [p.returncode for p in processes] == [0, 0], outputs
    events = json.loads(run(db, "assembly", "history", "LNA00040P1", "--json").stdout)
    assert len(events) == 1
    conn_count = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sqlite3;print(sqlite3.connect('{db}/assembled_casm.db')"
            ".execute('select count(*) from assembly').fetchone()[0])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(conn_count.stdout) == pairs


def test_two_processes_racing_for_one_lna_only_one_wins(tmp_path: Path) -> None:
    db = tmp_path / "db"
    run(db, "parts", "add", "ANTENNA", "2", "1")
    run(db, "parts", "add", "LNA", "1", "1")
    env = {**os.environ, "CASMAN_DATABASE_DIR": str(db)}
    racers = [
        subprocess.Popen(
            [*_casman_exe(), "assembly", "connect", f"ANT0000{n}P1", "LNA00001P1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in (1, 2)
    ]
    codes = sorted(p.wait(timeout=120) for p in racers)
    assert codes == [0, 1]
    events = json.loads(run(db, "assembly", "history", "LNA00001P1", "--json").stdout)
    assert len(events) == 1
