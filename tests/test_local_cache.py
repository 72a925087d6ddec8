"""A no-op sync reads nothing: the fingerprint of an unchanged file comes from the cache."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from casman.sync.local_cache import CACHE_FILE
from tests.conftest import Casman


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "remote"))
    return tmp_path / "remote"


def _age_files(directory: Path, seconds: float = 5.0) -> None:
    """Make the database files look written a while ago (past the racy window)."""
    past = time.time() - seconds
    for path in directory.glob("*.db*"):
        os.utime(path, (past, past))


def _relations(casman: Casman) -> dict[str, str]:
    out = json.loads(casman.ok("sync", "sync", "--json").stdout)
    return {r["database"]: r["relation"] for r in out}


def test_a_no_op_sync_does_not_read_the_database(
    casman: Casman, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman.ok("parts", "add", "ANTENNA", "3", "1")
    casman.ok("sync", "sync")
    _age_files(casman.directory)
    casman.ok("sync", "sync")  # computes once more, now cacheable
    assert (casman.directory / CACHE_FILE).exists()

    def no_reading(path: Path) -> object:
        raise AssertionError(f"{path} was read by a no-op sync")

    monkeypatch.setattr("casman.sync.converge.snapshot_in_memory", no_reading)
    assert _relations(casman) == {"parts.db": "in sync", "assembled_casm.db": "no remote backup"}


def test_a_change_is_never_hidden_by_the_cache(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANTENNA", "3", "1")
    casman.ok("sync", "sync")
    _age_files(casman.directory)
    casman.ok("sync", "sync")
    casman.ok("parts", "add", "ANTENNA", "1", "1")  # a write changes the WAL's size/mtime
    assert _relations(casman)["parts.db"] == "ahead"
    assert _relations(casman)["parts.db"] == "in sync"
