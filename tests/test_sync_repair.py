"""Repair: a damaged or lost local database is rebuilt from the store, and the site goes on.

The site's sync state (``.casman-sync.db``) describes the database it was written with; a
database set aside and rebuilt, or deleted, must not inherit "already read" and "already
published" from it — the rebuilt database would stay empty, and its next segment would be
chained to the old site's and refused by every other site.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Casman


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "store"))
    monkeypatch.delenv("CASMAN_SYNC_BACKEND", raising=False)
    return tmp_path / "store"


def _parts(casman: Casman) -> list[str]:
    return [p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").stdout)]


def _at(monkeypatch: pytest.MonkeyPatch, site: Path) -> None:
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site))


def test_a_damaged_database_is_rebuilt_and_its_next_change_reaches_other_sites(
    casman: Casman, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman.ok("parts", "add", "ANTENNA", "2", "1")
    casman.ok("sync", "backup")
    casman.ok("parts", "add", "LNA", "1", "1")
    casman.ok("sync", "sync")
    before = _parts(casman)

    damaged = b"\x00" * 4096
    (casman.directory / "parts.db").write_bytes(damaged)
    casman.fails("parts", "list")
    out = casman.ok("sync", "restore").stdout
    assert "parts.db was damaged: set aside" in out
    assert _parts(casman) == before
    safety = [p for p in (casman.directory / "safety").iterdir() if p.name.endswith(".damaged")]
    assert [p.read_bytes() for p in safety] == [damaged]

    # the repaired site works on; its change reaches a new site whole, nothing set aside
    casman.ok("parts", "add", "LNA", "1", "1")
    casman.ok("sync", "sync")
    _at(monkeypatch, tmp_path / "site-b")
    synced = json.loads(casman.ok("sync", "sync", "--json").stdout)
    assert synced["set_aside"] == []
    assert _parts(casman) == [*before, "LNA00002P1"]


def test_a_deleted_database_is_filled_again_by_the_next_sync(
    casman: Casman, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman.ok("parts", "add", "ANTENNA", "2", "1")
    casman.ok("sync", "sync")
    before = _parts(casman)
    for path in casman.directory.glob("parts.db*"):
        path.unlink()
    casman.ok("sync", "sync")
    assert _parts(casman) == before
    # and a number taken before the loss is not issued again
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("sync", "sync")
    _at(monkeypatch, tmp_path / "site-b")
    synced = json.loads(casman.ok("sync", "sync", "--json").stdout)
    assert synced["set_aside"] == []
    assert _parts(casman) == ["ANT00001P1", "ANT00002P1", "ANT00003P1"]
