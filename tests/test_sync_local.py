"""Sync, backup, list, restore, status and maintain on the ``local`` backend, via the CLI.

The store is a directory (``CASMAN_LOCAL_PATH``), so a test can look at what casman wrote
there (``array.json``, ``head.json``, ``log/{site}/{seq}-{sha256}`` segments and the
checkpoints under ``backups/{db}/``) and damage it the way a disk or a person would.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from casman.config import load_config
from casman.storage.plugins import open_storage
from casman.sync.checkpoint import take_checkpoint
from casman.sync.session import Session
from tests.conftest import Casman, add_all_types, fingerprint


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "remote"
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(path))
    monkeypatch.delenv("CASMAN_SYNC_BACKEND", raising=False)
    return path


def _listing(casman: Casman) -> dict[str, Any]:
    return dict(json.loads(casman.ok("sync", "list", "--json").output))


def _checkpoints(casman: Casman) -> list[dict[str, Any]]:
    return list(_listing(casman)["checkpoints"])


def _part_numbers(casman: Casman) -> list[str]:
    return [p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").output)]


def _store_files(remote: Path) -> dict[str, bytes]:
    """Every object of the store (the backend's own metadata included), byte for byte."""
    if not remote.exists():
        return {}
    return {
        str(p.relative_to(remote)): p.read_bytes()
        for p in remote.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def _segments(remote: Path) -> list[Path]:
    return sorted(p for p in (remote / "log").rglob("*") if p.is_file() and "@" not in p.name)


def _use_site(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(directory))


def test_backup_list_damage_repair_round_trip(casman: Casman, remote: Path) -> None:
    add_all_types(casman, 3, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    out = casman.ok("sync", "backup").output
    assert "parts.db: checkpoint backups/parts.db/" in out
    assert "assembled_casm.db: checkpoint backups/assembled_casm.db/" in out
    (checkpoint,) = _checkpoints(casman)
    keys, sums = checkpoint["keys"], checkpoint["sha256"]
    assert set(keys) == {"parts.db", "assembled_casm.db"}
    assert checkpoint["records"] == 6  # five `parts add` and one connect
    for db_name, key in keys.items():
        stored = (remote / key).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == sums[db_name]
    # a checkpoint is a plain SQLite file: it opens without casman
    conn = sqlite3.connect(remote / keys["parts.db"])
    assert conn.execute("SELECT COUNT(*) FROM parts").fetchone()[0] == 15
    conn.close()

    before = _part_numbers(casman)
    (casman.directory / "parts.db").write_bytes(b"\x00" * 4096)  # damage
    for sidecar in ("parts.db-wal", "parts.db-shm"):
        (casman.directory / sidecar).unlink(missing_ok=True)
    casman.fails("parts", "list")
    repaired = casman.ok("sync", "restore").output
    assert "parts.db was damaged: set aside" in repaired
    assert _part_numbers(casman) == before
    history = json.loads(casman.ok("assembly", "history", "ANT00001P1", "--json").output)
    assert [e["connection_status"] for e in history] == ["connected"]
    safety = list((casman.directory / "safety").glob("parts.db.*"))
    assert any(p.read_bytes().startswith(b"\x00" * 16) for p in safety)
    # the repaired site works on: its next change is published and others can read it
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    assert "published 1 change(s)" in casman.ok("sync", "sync").output


def test_two_checkpoints_in_one_second_never_overwrite(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("sync", "sync")
    config = load_config()
    frozen = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    session = Session(config, open_storage(config), clock=lambda: frozen)
    first = take_checkpoint(session, keep=10).checkpoint
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    second = take_checkpoint(session, keep=10).checkpoint
    assert first.keys["parts.db"] == "backups/parts.db/20260304_050607_parts.db"
    assert second.keys["parts.db"] == "backups/parts.db/20260304_050608_parts.db"
    listed = _checkpoints(casman)
    assert [c["keys"] for c in listed] == [second.keys, first.keys]  # newest first
    for checkpoint in (first, second):  # neither replaced the other's bytes
        for db_name, key in checkpoint.keys.items():
            body = (remote / key).read_bytes()
            assert hashlib.sha256(body).hexdigest() == checkpoint.sha256[db_name]
    assert [c["records"] for c in listed] == [2, 1]


def test_retention_keeps_the_newest_checkpoints_and_every_change(
    casman: Casman, remote: Path, tmp_path: Path
) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    keep_versions: 2\n")
    for _ in range(4):
        casman.ok("parts", "add", "ANT", "1", "1")
        casman.ok("sync", "backup")
    listed = _checkpoints(casman)
    assert [c["records"] for c in listed] == [4, 3]
    kept = {key for c in listed for key in c["keys"].values()}
    stored = {k for k in _store_files(remote) if k.startswith("backups/") and "@" not in k}
    assert stored == kept  # the two oldest checkpoints were deleted from the store
    # retention deletes checkpoints, never changes: the first moment is still restorable
    span = _listing(casman)["restorable"]
    assert span["moments"] == 4
    casman.ok("sync", "restore", "--at", str(span["first"]), "--output", str(tmp_path / "then"))
    conn = sqlite3.connect(tmp_path / "then" / "parts.db")
    assert conn.execute("SELECT part_number FROM parts").fetchall() == [("ANT00001P1",)]
    conn.close()


@pytest.mark.parametrize(
    "key",
    [
        "../parts.db",
        "backups/parts.db/../../x",
        "backups/other.db/20240101_000000_other.db",
        "backups/parts.db/20241308_000000_parts.db",
        "parts.dbx",
        "/backups/parts.db/20240101_000000_parts.db",
        "backups/parts.db/20200101_000000_parts.db",  # well formed, but no checkpoint
    ],
)
def test_restore_of_a_key_that_is_no_checkpoint_is_one_line_and_changes_nothing(
    casman: Casman, remote: Path, key: str
) -> None:
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("sync", "backup")
    before, store_before = fingerprint(casman.directory), _store_files(remote)
    result = casman.fails("sync", "restore", key, "--yes")
    assert result.stderr.count("\n") == 1
    assert "not a checkpoint" in result.stderr and "casman sync list" in result.stderr
    assert fingerprint(casman.directory) == before
    assert _store_files(remote) == store_before


def test_restore_of_a_key_with_no_store_creates_nothing(casman: Casman, remote: Path) -> None:
    result = casman.fails("sync", "restore", "backups/parts.db/20200101_000000_parts.db")
    assert result.stderr.count("\n") == 1 and "no checkpoints" in result.stderr
    assert not remote.exists()
    assert not (casman.directory / "parts.db").exists()


def test_two_sites_sync_to_the_union_and_lose_nothing(
    casman: Casman, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_a, site_b = casman.directory, tmp_path / "site-b"
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup")
    # site B starts empty: it joins the store's array on its first sync
    _use_site(monkeypatch, site_b)
    assert "received 1 change(s)" in casman.ok("sync", "sync").output
    assert _part_numbers(casman) == ["ANT00001P1"]
    assert "in sync; nothing to do" in casman.ok("sync", "sync").output
    # A moves on; B receives
    _use_site(monkeypatch, site_a)
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "sync")
    _use_site(monkeypatch, site_b)
    casman.ok("sync", "sync")
    assert _part_numbers(casman) == ["ANT00001P1", "ANT00002P1"]
    # both change while apart: the sync unites them, nothing is replaced
    casman.ok("parts", "add", "LNA", "1", "1")
    status = json.loads(casman.ok("sync", "status", "--json").output)
    assert status["automatic"]["pending_changes"] == 1
    _use_site(monkeypatch, site_a)
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "sync")
    _use_site(monkeypatch, site_b)
    both = json.loads(casman.ok("sync", "sync", "--json").output)
    assert (both["received"], both["published"]) == (1, 1)
    assert (
        json.loads(casman.ok("sync", "status", "--json").output)["automatic"]["pending_changes"]
        == 0
    )
    _use_site(monkeypatch, site_a)
    casman.ok("sync", "sync")
    expected = ["ANT00001P1", "ANT00002P1", "ANT00003P1", "LNA00001P1"]
    assert _part_numbers(casman) == expected
    _use_site(monkeypatch, site_b)
    assert _part_numbers(casman) == expected


def test_sync_publishes_local_changes_as_a_content_addressed_segment(
    casman: Casman, remote: Path
) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup")
    (first,) = _segments(remote)
    casman.ok("parts", "add", "ANT", "1", "1")
    out = casman.ok("sync", "sync").output
    assert "published 1 change(s)" in out
    segments = _segments(remote)
    assert len(segments) == 2 and first in segments
    newest = segments[-1]
    assert newest.parent == first.parent  # this site's own prefix
    seq, sha = newest.name.split("-")
    assert seq == "0000000002" and hashlib.sha256(newest.read_bytes()).hexdigest() == sha
    assert len(_part_numbers(casman)) == 2


def _flip_a_byte(storage_path: Path) -> None:
    data = bytearray(storage_path.read_bytes())
    data[-10] ^= 0xFF
    storage_path.write_bytes(bytes(data))


def _swap_for_another_segment(storage_path: Path) -> None:
    """Another valid segment's bytes under this one's key, with honest backend metadata:
    only the name (its SHA-256) can tell."""
    other = next(p for p in _segments(storage_path.parents[2]) if p != storage_path)
    key = str(storage_path.relative_to(storage_path.parents[2]))
    storage = open_storage(load_config())
    storage.put(key, other.read_bytes(), {})


@pytest.mark.parametrize("damage", [_flip_a_byte, _swap_for_another_segment])
def test_a_damaged_or_swapped_segment_is_set_aside_and_published_again(
    casman: Casman,
    remote: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    damage: Callable[[Path], None],
) -> None:
    site_a, site_b = casman.directory, tmp_path / "site-b"
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "sync")
    _use_site(monkeypatch, site_b)
    casman.ok("sync", "sync")
    casman.ok("parts", "add", "LNA", "1", "1")  # B's own work
    _use_site(monkeypatch, site_a)
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "sync")
    segments = _segments(remote)
    assert len({p.parent for p in segments}) == 1  # only A has published so far
    newest_of_a = segments[-1]
    damage(newest_of_a)
    _use_site(monkeypatch, site_b)
    synced = casman.ok("sync", "sync")
    assert "set aside" in synced.output and newest_of_a.name in synced.output
    assert "Traceback" not in synced.output + synced.stderr
    assert _part_numbers(casman) == ["ANT00001P1", "LNA00001P1"]  # nothing of it installed
    # A holds what the damaged segment held: its next sync publishes it again
    _use_site(monkeypatch, site_a)
    assert "published them again" in casman.ok("sync", "sync").output
    _use_site(monkeypatch, site_b)
    casman.ok("sync", "sync")
    assert _part_numbers(casman) == ["ANT00001P1", "ANT00002P1", "LNA00001P1"]


def test_status_and_maintain(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    text = casman.ok("sync", "status").output
    assert "reachable; holds array nothing yet" in text
    assert "Waiting:              1 change(s)" in text
    casman.ok("sync", "backup")
    status = json.loads(casman.ok("sync", "status", "--json").output)
    assert status["reachable"] is True
    assert status["local_array"] == status["store_array"] is not None
    assert status["sites_in_store"] == [status["site"]]
    assert len(status["checkpoints"]) == 1
    assert status["automatic"]["pending_changes"] == 0
    report = json.loads(casman.ok("sync", "maintain", "--json").output)
    (segment,) = _segments(remote)
    (checkpoint,) = _checkpoints(casman)
    assert set(report["verified"]) == {
        str(segment.relative_to(remote)),
        *checkpoint["keys"].values(),
    }
    assert report["problems"] == {}


def test_maintain_deep_finds_a_flipped_checkpoint_byte(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "2", "1")
    casman.ok("sync", "backup")
    (checkpoint,) = _checkpoints(casman)
    key = checkpoint["keys"]["parts.db"]
    stored = remote / key
    data = bytearray(stored.read_bytes())
    data[-10] ^= 0x01  # same size: only the content can tell
    stored.write_bytes(bytes(data))
    (stored.parent / (stored.name + "@meta.json")).unlink()  # the backend's own MD5 gone too
    shallow = casman("sync", "maintain")
    assert shallow.exit_code == 0 and "exists (HEAD)" in shallow.output
    deep = casman("sync", "maintain", "--deep")
    assert deep.exit_code == 1 and "SHA-256 of every body" in deep.output
    assert f"✗ {key}" in deep.output and "SHA-256" in deep.output
    assert stored.exists()  # reported, left in place


def test_dry_run_sends_nothing(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    files_before = sorted(p.name for p in casman.directory.iterdir())
    before = fingerprint(casman.directory)
    out = casman.ok("sync", "backup", "--dry-run").output
    assert "nothing is written" in out
    assert "PUT    log/" in out and "PUT    head.json" in out
    assert "PUT    backups/parts.db/" in out
    assert _store_files(remote) == {}
    assert fingerprint(casman.directory) == before
    assert sorted(p.name for p in casman.directory.iterdir()) == files_before  # no state
    casman.ok("sync", "backup")
    casman.ok("parts", "add", "ANT", "1", "1")
    store_before = _store_files(remote)
    plan = json.loads(casman.ok("sync", "sync", "--dry-run", "--json").output)
    assert plan["dry_run"] is True and plan["published"] == 1
    writes = [r for r in plan["requests"] if r["kind"] == "put"]
    assert writes and not any(r["sent"] for r in writes)
    assert {r["key"].split("/")[0] for r in writes} == {"log", "head.json"}
    assert _store_files(remote) == store_before
    assert "published 1 change(s)" in casman.ok("sync", "sync").output  # still waiting


def test_unknown_backend_has_an_install_hint(casman: Casman) -> None:
    result = casman.fails("sync", "--backend", "gcs", "status")
    assert "unknown storage backend 'gcs'" in result.stderr


def test_a_checkpoint_from_a_machine_whose_clock_is_behind_still_lists_newest(
    casman: Casman, remote: Path
) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup")
    (first,) = _checkpoints(casman)
    casman.ok("parts", "add", "ANT", "1", "1")
    config = load_config()
    behind = Session(config, open_storage(config), clock=lambda: datetime(2001, 1, 1, tzinfo=UTC))
    result = take_checkpoint(behind, keep=10)
    assert result.deleted == ()
    listed = _checkpoints(casman)
    assert [c["keys"] for c in listed] == [result.checkpoint.keys, first["keys"]]
    assert listed[0]["records"] == 2
    assert str(listed[0]["created"]).startswith("2001-01-01")


def test_a_new_site_with_empty_databases_receives_everything(
    casman: Casman, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman.ok("parts", "add", "ANT", "2", "1")
    casman.ok("sync", "backup")
    _use_site(monkeypatch, tmp_path / "new-site")
    casman.fails("parts", "list")  # reading never creates databases
    from casman.db.connection import open_databases

    open_databases(tmp_path / "new-site").close()  # empty databases, as an old casman left
    out = casman.ok("sync", "sync").output
    assert "received 1 change(s)" in out
    assert _part_numbers(casman) == ["ANT00001P1", "ANT00002P1"]
