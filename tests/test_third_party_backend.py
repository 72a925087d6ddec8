"""A third-party backend installed with pip works like casman's own.

``casman-memory-backend`` (tests/fixtures/casman_memory_backend) is a separate distribution
installed with pip (editable) that registers backend ``memory`` through the ``casman`` entry
point group. It keeps objects in a module-level dict, so they live as long as the process:
sync, backup (a checkpoint), list and restore are run through CliRunner in this one process
(each command a separate invocation, sharing the store as two commands on one machine share
a bucket). A fresh process starts with an empty store, which the subprocess test shows.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from casman.storage.plugins import reset_plugin_manager
from casman.testing import CasmanRunner, casman_runner, check_sync_round_trip
from tests.conftest import Casman, add_all_types

__all__ = ["casman_runner"]  # the fixture, imported so pytest finds it

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


def _parts_in(path: Path) -> list[str]:
    """The part numbers of a database file, read with nothing but sqlite3."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT part_number FROM parts ORDER BY part_number")
        return [str(row[0]) for row in rows]
    finally:
        connection.close()


def test_sync_backup_list_restore_with_the_memory_backend(
    casman: Casman, memory: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sync(*args: str) -> Any:
        result = casman.ok("sync", "--backend", "memory", *args)
        assert TOKEN not in result.output
        return result

    add_all_types(casman, 2, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    out = sync("backup").stdout
    assert "parts.db: checkpoint backups/parts.db/" in out
    assert "assembled_casm.db: checkpoint backups/assembled_casm.db/" in out

    listing = json.loads(sync("list", "--json").stdout)
    (checkpoint,) = listing["checkpoints"]
    assert set(checkpoint["keys"]) == {"parts.db", "assembled_casm.db"}
    assert all(len(digest) == 64 for digest in checkpoint["sha256"].values())
    assert listing["restorable"]["moments"] == checkpoint["records"] == 6
    # the objects really are in the plugin's store for this namespace, and only there
    store = memory.store(os.environ["CASMAN_MEMORY_NAMESPACE"])
    stored = {info.key for info in store.list_page("", None, 1000).objects}
    assert {"array.json", "head.json", *checkpoint["keys"].values()} <= stored
    assert [key for key in stored if key.startswith("log/")] != []
    assert memory.store("default").list_page("", None, 1000).objects == ()
    # a checkpoint is a plain SQLite file
    body, _ = store.get(checkpoint["keys"]["parts.db"])
    (tmp_path / "checkpoint.db").write_bytes(body)
    before = _part_numbers(casman)
    assert _parts_in(tmp_path / "checkpoint.db") == sorted(before)

    # damage, then repair from the plugin's store (a safety copy of the damage is kept)
    (casman.directory / "parts.db").write_bytes(b"\x00" * 4096)
    casman.fails("parts", "list")
    assert "parts.db was damaged: set aside" in sync("restore").stdout
    assert _part_numbers(casman) == before

    # going back to the checkpoint's moment, into a folder: the live databases stay
    casman.ok("parts", "add", "ANT", "1", "1")
    sync("restore", checkpoint["keys"]["parts.db"], "--output", str(tmp_path / "then"))
    assert _parts_in(tmp_path / "then" / "parts.db") == sorted(before)
    assert sorted(_part_numbers(casman)) == sorted([*before, "ANT00003P1"])
    sync("sync")

    # another database directory syncs from it; status and maintain work
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(tmp_path / "site-b"))
    assert "received" in sync("sync").stdout
    assert sorted(_part_numbers(casman)) == sorted([*before, "ANT00003P1"])
    status = json.loads(sync("status", "--json").stdout)
    assert status["reachable"] is True and status["backend"] == "memory"
    assert status["settings"]["token"] != TOKEN and status["quota"] is None
    report = json.loads(sync("maintain", "--json").stdout)
    assert report["problems"] == {}
    assert set(checkpoint["keys"].values()) <= set(report["verified"])


def test_two_namespaces_are_two_stores(
    casman: Casman, memory: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the site remembers of a store is kept per store, not per backend name: the
    second namespace receives everything, although the first already holds it."""
    casman.ok("parts", "add", "ANT", "2", "1")
    casman.ok("sync", "--backend", "memory", "sync")
    monkeypatch.setenv("CASMAN_MEMORY_NAMESPACE", f"other-{uuid.uuid4().hex[:8]}")
    synced = json.loads(casman.ok("sync", "--backend", "memory", "sync", "--json").stdout)
    assert synced["published"] == 1
    second = memory.store(os.environ["CASMAN_MEMORY_NAMESPACE"])
    assert [o.key for o in second.list_page("log/", None, 1000).objects] != []


def test_the_plugin_authors_round_trip_passes_on_the_memory_backend(
    casman_runner: CasmanRunner, memory: ModuleType
) -> None:
    """``casman.testing.check_sync_round_trip``, what a plugin's own tests call, on a
    third-party backend: sync, checkpoint, list, restore --at --output, repair, a second
    site, status, maintain --deep; the token in no output."""
    trip = check_sync_round_trip(casman_runner, "memory", secret=TOKEN)
    assert trip.parts == ["ANT00001P1", "ANT00002P1", "LNA00001P1", "LNA00002P1"]
    store = memory.store(os.environ["CASMAN_MEMORY_NAMESPACE"])
    body, _ = store.get(trip.checkpoint["keys"]["parts.db"])
    assert body[:16] == b"SQLite format 3\x00"


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
    # the store is per process: a checkpoint made here is not seen by a new process
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "--backend", "memory", "backup")
    here = json.loads(casman.ok("sync", "--backend", "memory", "list", "--json").stdout)
    assert len(here["checkpoints"]) == 1 and len(here["sites"]) == 1
    there = json.loads(run("sync", "--backend", "memory", "list", "--json").stdout)
    assert there["checkpoints"] == [] and there["sites"] == []
