"""``--dry-run`` prints exactly what a real run sends: the plan is the real code path.

Each scenario is run twice from the same starting point (two copies of one site): once
with ``--dry-run --json``, once for real with ``CASMAN_TRACE_PLUGINS=1``; the requests
must be the same, in the same order (timestamps in keys aside).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_real_processes import _casman_exe

pytestmark = pytest.mark.slow
_STAMP = re.compile(r"\d{8}_\d{6}")
_TRACE = re.compile(r"op=(\w+) key=(\S+)")


def _env(db: Path, store: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASMAN_")}
    env.update(
        CASMAN_DATABASE_DIR=str(db),
        CASMAN_LOCAL_PATH=str(store),
        CASMAN_AUTO_BACKUP="false",
        HOME=str(db.parent / "home"),
    )
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*_casman_exe(), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def _normal(kind: str, key: str) -> tuple[str, str]:
    return kind, _STAMP.sub("T", key)


def planned(env: dict[str, str], *args: str) -> list[tuple[str, str]]:
    out = json.loads(run(env, *args, "--dry-run", "--json").stdout)
    if isinstance(out, list):  # sync: per database
        requests = [q for item in out for q in item["requests"]]
    else:
        requests = out["requests"]
    return [_normal(q["kind"], q["key"]) for q in requests]


def traced(env: dict[str, str], *args: str) -> list[tuple[str, str]]:
    done = run(dict(env, CASMAN_TRACE_PLUGINS="1"), *args)
    return [_normal(*m.groups()) for m in _TRACE.finditer(done.stderr)]


def _twin(tmp_path: Path, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """Two identical copies (site and store) of the prepared state in tmp_path/base."""
    envs = []
    for copy in (f"{name}-dry", f"{name}-real"):
        shutil.copytree(tmp_path / "base", tmp_path / copy)
        envs.append(_env(tmp_path / copy / "db", tmp_path / copy / "store"))
    return envs[0], envs[1]


def _prepare(tmp_path: Path) -> dict[str, str]:
    env = _env(tmp_path / "base" / "db", tmp_path / "base" / "store")
    run(env, "parts", "add", "ANTENNA", "2", "1")
    run(env, "sync", "backup")
    run(env, "parts", "add", "LNA", "2", "1")
    return env


def test_backup_plan_equals_what_is_sent(tmp_path: Path) -> None:
    _prepare(tmp_path)
    dry, real = _twin(tmp_path, "backup")
    plan = planned(dry, "sync", "backup")
    assert ("put", "backups/parts.db/HEAD.json") in plan
    assert plan == traced(real, "sync", "backup")


def test_sync_plan_equals_what_is_sent(tmp_path: Path) -> None:
    _prepare(tmp_path)
    dry, real = _twin(tmp_path, "sync")
    plan = planned(dry, "sync", "sync")
    assert plan == traced(real, "sync", "sync")
    # and the dry run changed nothing: the same dry run again plans the same requests
    assert planned(dry, "sync", "sync") == plan


def test_restore_plan_equals_what_is_sent(tmp_path: Path) -> None:
    env = _prepare(tmp_path)
    listing = json.loads(run(env, "sync", "list", "--db", "parts.db", "--json").stdout)
    key = listing[0]["key"]
    dry, real = _twin(tmp_path, "restore")
    plan = planned_restore(dry, key)
    assert plan[0] == ("get", "backups/parts.db/HEAD.json") or ("get", _STAMP.sub("T", key)) in plan
    assert plan == traced(real, "sync", "restore", key)


def planned_restore(env: dict[str, str], key: str) -> list[tuple[str, str]]:
    out = run(env, "sync", "restore", key, "--dry-run").stdout
    return [
        _normal(line.split()[0].lower(), line.split()[1])
        for line in out.splitlines()[1:]
        if line.startswith("  ") and line.split()[0].isupper()
    ]


def test_maintain_plan_equals_what_is_sent(tmp_path: Path) -> None:
    _prepare(tmp_path)
    dry, real = _twin(tmp_path, "maintain")
    plan = planned(dry, "sync", "maintain")
    assert ("list", "backups/") in plan
    assert plan == traced(real, "sync", "maintain")
