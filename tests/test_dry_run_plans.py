"""``--dry-run`` prints exactly what a real run sends: the plan is the real code path.

Each scenario plans with ``--dry-run --json`` and then runs for real with
``CASMAN_TRACE_PLUGINS=1`` from the very same site and store: the requests must be the
same, in the same order (timestamps in checkpoint keys aside). Planning twice gives the
same plan, so the dry run changed nothing on either side.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import fingerprint
from tests.test_real_processes import _casman_exe

pytestmark = pytest.mark.slow
_STAMP = re.compile(r"\d{8}_\d{6}")
_TRACE = re.compile(r"op=(\w+) key=(\S+)")


def _env(db: Path, store: Path, config: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASMAN_")}
    env.update(
        CASMAN_DATABASE_DIR=str(db),
        CASMAN_LOCAL_PATH=str(store),
        CASMAN_AUTO_BACKUP="false",
        HOME=str(db.parent / "home"),
    )
    if config is not None:
        env["CASMAN_CONFIG"] = str(config)
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
    return [_normal(q["kind"], q["key"]) for q in out["requests"]]


def traced(env: dict[str, str], *args: str) -> list[tuple[str, str]]:
    done = run(dict(env, CASMAN_TRACE_PLUGINS="1"), *args)
    return [_normal(*m.groups()) for m in _TRACE.finditer(done.stderr)]


def _store_files(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in store.rglob("*") if p.is_file()}


def _prepare(tmp_path: Path, config: Path | None = None) -> dict[str, str]:
    """A site that published and took a checkpoint, then made one more change."""
    env = _env(tmp_path / "db", tmp_path / "store", config)
    run(env, "parts", "add", "ANTENNA", "2", "1")
    run(env, "sync", "backup")
    run(env, "parts", "add", "LNA", "2", "1")
    return env


def _unchanged_by_dry_runs(
    tmp_path: Path, env: dict[str, str], *args: str
) -> list[tuple[str, str]]:
    """Plan twice; neither the databases nor the store may change. The plan."""
    databases, store = fingerprint(tmp_path / "db"), _store_files(tmp_path / "store")
    plan = planned(env, *args)
    assert planned(env, *args) == plan
    assert fingerprint(tmp_path / "db") == databases
    assert _store_files(tmp_path / "store") == store
    return plan


def test_backup_plan_equals_what_is_sent(tmp_path: Path) -> None:
    env = _prepare(tmp_path)
    plan = _unchanged_by_dry_runs(tmp_path, env, "sync", "backup")
    puts = [key for kind, key in plan if kind == "put"]
    assert [k for k in puts if k.startswith("log/")] != []  # the waiting change
    assert "head.json" in puts
    assert {"backups/parts.db/T_parts.db", "backups/assembled_casm.db/T_assembled_casm.db"} <= set(
        puts
    )
    assert plan == traced(env, "sync", "backup")


def test_sync_plan_equals_what_is_sent(tmp_path: Path) -> None:
    env = _prepare(tmp_path)
    plan = _unchanged_by_dry_runs(tmp_path, env, "sync", "sync")
    assert [kind for kind, _ in plan] == ["get", "put", "put"]  # head, segment, head
    assert plan == traced(env, "sync", "sync")
    # once in sync, a dry run plans the one GET a no-op sync costs
    assert planned(env, "sync", "sync") == [("get", "head.json")]


def test_retention_deletes_are_in_the_plan(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  sync:\n    keep_versions: 1\n")
    env = _prepare(tmp_path, config)
    plan = _unchanged_by_dry_runs(tmp_path, env, "sync", "backup")
    deletes = [key for kind, key in plan if kind == "delete"]
    assert sorted(deletes) == [
        "backups/assembled_casm.db/T_assembled_casm.db",
        "backups/parts.db/T_parts.db",
    ]
    assert plan == traced(env, "sync", "backup")
    kept = [p for p in (tmp_path / "store" / "backups").rglob("*.db") if p.is_file()]
    assert len(kept) == 2  # one checkpoint: both databases


def test_restore_to_a_folder_sends_nothing(tmp_path: Path) -> None:
    """Going back into --output reads this site's own records: no request, nothing live
    changed."""
    env = _prepare(tmp_path)
    databases, store = fingerprint(tmp_path / "db"), _store_files(tmp_path / "store")
    times = json.loads(run(env, "sync", "restore", "--list-times", "--json").stdout)
    first = times[0]["at"]
    done = run(
        dict(env, CASMAN_TRACE_PLUGINS="1"),
        "sync",
        "restore",
        "--at",
        first,
        "--output",
        str(tmp_path / "then"),
    )
    assert "casman trace:" not in done.stderr
    assert fingerprint(tmp_path / "db") == databases
    assert _store_files(tmp_path / "store") == store
    assert sorted(p.name for p in (tmp_path / "then").glob("*.db")) == [
        "assembled_casm.db",
        "parts.db",
    ]
