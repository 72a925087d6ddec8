"""A third-party backend installed with pip works like casman's own.

``casman-memory-backend`` (tests/fixtures/casman_memory_backend) is a separate distribution
installed with pip (editable) that registers backend ``memory`` through the ``casman`` entry
point group. It keeps objects in a module-level dict, so they live as long as the process:
backup, list and restore are run through CliRunner in this one process (each command a
separate invocation, sharing the store as two commands on one machine share a bucket). A
fresh process starts with an empty store, which the subprocess test shows as well.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from casman.storage.plugins import reset_plugin_manager
from tests.conftest import Casman, add_all_types

DISTRIBUTION = "casman-memory-backend"
TOKEN = "SECRETVALUE-memory-token-987zyx"


@pytest.fixture
def memory(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The installed plugin module, its stores emptied, in a namespace of this test."""
    dist = importlib.metadata.distribution(DISTRIBUTION)  # installed, or the test fails here
    assert [(ep.group, ep.name) for ep in dist.entry_points if ep.group == "casman"] == [
        ("casman", "memory")
    ]
    for name in ("CASMAN_LOAD_PLUGINS", "CASMAN_TRACE_PLUGINS", "CASMAN_SYNC_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASMAN_MEMORY_NAMESPACE", f"test-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("CASMAN_MEMORY_TOKEN", TOKEN)
    module = importlib.import_module("casman_memory_backend")
    module.reset()
    reset_plugin_manager()
    yield module
    reset_plugin_manager()
    module.reset()


def _plugin(report: dict[str, Any]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [p for p in report["plugins"] if "memory" in p["backends"]]
    (entry,) = entries
    return entry


def test_listed_by_casman_plugins_with_its_distribution(casman: Casman, memory: ModuleType) -> None:
    version = importlib.metadata.version(DISTRIBUTION)
    report = json.loads(casman.ok("plugins", "--json").stdout)
    plugin = _plugin(report)
    assert plugin == {
        "name": "memory",
        "distribution": DISTRIBUTION,
        "version": version,
        "builtin": False,
        "backends": ["memory"],
        "error": None,
        "problems": [],
    }
    backend = next(b for b in report["backends"] if b["name"] == "memory")
    assert backend["plugin"] == "memory"
    options = {o["name"]: o for o in backend["options"]}
    assert options["namespace"]["env"] == "CASMAN_MEMORY_NAMESPACE"
    assert options["token"] == {
        "name": "token",
        "env": "CASMAN_MEMORY_TOKEN",
        "secret": True,
        "required": False,
        "default": None,
    }
    # casman's own plugins are listed too, so the memory one is not mistaken for a built-in
    assert {"local", "s3", "r2"} <= {name for p in report["plugins"] for name in p["backends"]}
    text = casman.ok("plugins").stdout
    assert f"memory ({DISTRIBUTION} {version}) — backends: memory" in text
    assert TOKEN not in text + json.dumps(report)


def _part_numbers(casman: Casman) -> list[str]:
    return [p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").stdout)]


def test_backup_list_restore_with_the_memory_backend(
    casman: Casman, memory: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sync(*args: str) -> Any:
        result = casman.ok("sync", "--backend", "memory", *args)
        assert TOKEN not in result.output
        return result

    add_all_types(casman, 2, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    out = sync("backup").stdout
    assert "parts.db: backed up to backups/parts.db/" in out

    listing = json.loads(sync("list", "--json").stdout)
    assert {entry["database"] for entry in listing} == {"parts.db", "assembled_casm.db"}
    parts_entry = next(e for e in listing if e["database"] == "parts.db")
    assert parts_entry["records"] == 10 and len(parts_entry["sha256"]) == 64
    # the objects really are in the plugin's store for this namespace
    store = memory.store(os.environ["CASMAN_MEMORY_NAMESPACE"])
    stored = {info.key for info in store.list_page("backups/", None, 1000).objects}
    heads = {f"backups/{db}/HEAD.json" for db in ("parts.db", "assembled_casm.db")}
    assert stored == {entry["key"] for entry in listing} | heads
    assert memory.store("default").list_page("", None, 1000).objects == ()

    # damage, then restore (the current file is unreadable, so no remote safety backup)
    before = _part_numbers(casman)
    (casman.directory / "parts.db").write_bytes(b"\x00" * 4096)
    casman.fails("parts", "list")
    out = sync("restore", parts_entry["key"], "--no-backup").stdout
    assert f"restored parts.db from {parts_entry['key']} (10 records)" in out
    assert _part_numbers(casman) == before

    # a restore with a remote safety backup writes to the plugin too
    casman.ok("parts", "add", "ANT", "1", "1")
    out = sync("restore", parts_entry["key"]).stdout
    assert "remote safety backup: backups/parts.db/" in out
    assert _part_numbers(casman) == before
    assert len(json.loads(sync("list", "--db", "parts.db", "--json").stdout)) == 2

    # another database directory syncs from it; status and maintain work
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(tmp_path / "site-b"))
    assert "fast-forwarded" in sync("sync").stdout
    assert sorted(_part_numbers(casman)) == sorted([*before, "ANT00003P1"])  # the safety backup
    status = json.loads(sync("status", "--json").stdout)
    assert status["reachable"] is True and status["backend"] == "memory"
    assert status["settings"]["token"] != TOKEN and status["quota"] is None
    report = json.loads(sync("maintain", "--json").stdout)
    assert len(report["verified"]) == 3 and report["problems"] == {}


def _casman_exe() -> list[str]:
    found = shutil.which("casman", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "casman"]


@pytest.mark.slow
def test_a_fresh_process_loads_it_from_its_entry_point(
    casman: Casman, memory: ModuleType, tmp_path: Path
) -> None:
    env = {**os.environ}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*_casman_exe(), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert TOKEN not in done.stdout + done.stderr
        return done

    plugin = _plugin(json.loads(run("plugins", "--json").stdout))
    assert plugin["distribution"] == DISTRIBUTION
    assert plugin["version"] == importlib.metadata.version(DISTRIBUTION)
    # the store is per process: a backup made here is not seen by a new process
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "--backend", "memory", "backup")
    assert len(json.loads(casman.ok("sync", "--backend", "memory", "list", "--json").stdout)) == 2
    assert json.loads(run("sync", "--backend", "memory", "list", "--json").stdout) == []
