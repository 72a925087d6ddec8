"""Backup, list, restore, sync, status and maintain on the ``local`` backend, via the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Casman, add_all_types, fingerprint


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "remote"
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(path))
    monkeypatch.delenv("CASMAN_SYNC_BACKEND", raising=False)
    return path


def _keys(casman: Casman, db: str = "parts.db") -> list[str]:
    return [b["key"] for b in json.loads(casman.ok("sync", "list", "--db", db, "--json").output)]


def _part_numbers(casman: Casman) -> list[str]:
    return [p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").output)]


def test_backup_list_damage_restore_round_trip(casman: Casman, remote: Path) -> None:
    add_all_types(casman, 3, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    out = casman.ok("sync", "backup").output
    assert "parts.db: backed up to backups/parts.db/" in out
    listing = json.loads(casman.ok("sync", "list", "--json").output)
    assert {b["database"] for b in listing} == {"parts.db", "assembled_casm.db"}
    parts_backup = next(b for b in listing if b["database"] == "parts.db")
    assert parts_backup["records"] == 15 and len(parts_backup["sha256"]) == 64
    assert parts_backup["host"] and parts_backup["casman_version"]
    before = _part_numbers(casman)
    (casman.directory / "parts.db").write_bytes(b"\x00" * 4096)  # damage
    casman.fails("parts", "list")
    refused = casman.fails("sync", "restore", parts_backup["key"])
    assert "--no-backup" in refused.stderr
    casman.ok("sync", "restore", parts_backup["key"], "--no-backup")
    assert _part_numbers(casman) == before
    safety = list((casman.directory / "safety").iterdir())
    assert any(p.read_bytes().startswith(b"\x00" * 16) for p in safety if p.is_file())


def test_identical_backup_is_not_uploaded_twice_and_same_second_never_overwrites(
    casman: Casman, remote: Path
) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup", "--parts")
    assert "unchanged since" in casman.ok("sync", "backup", "--parts").output
    casman.ok("sync", "backup", "--parts", "--force")
    casman.ok("sync", "backup", "--parts", "--force")
    keys = _keys(casman)
    assert len(keys) == 3 and len(set(keys)) == 3
    assert keys == sorted(keys, reverse=True)


def test_retention_keeps_newest_versions(casman: Casman, remote: Path, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    keep_versions: 2\n")
    for _ in range(4):
        casman.ok("parts", "add", "ANT", "1", "1")
        casman.ok("sync", "backup", "--parts", "--force")
    keys = _keys(casman)
    assert len(keys) == 2


def test_restore_of_a_corrupt_backup_changes_nothing(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "2", "1")
    casman.ok("sync", "backup", "--parts")
    (key,) = _keys(casman)
    casman.ok("parts", "add", "ANT", "1", "1")
    stored = next(p for p in remote.rglob("*") if p.is_file() and "parts.db" in p.name)
    data = bytearray(stored.read_bytes())
    data[-100] ^= 0xFF
    stored.write_bytes(bytes(data))
    before = fingerprint(casman.directory)
    raw_before = (casman.directory / "parts.db").read_bytes()
    result = casman.fails("sync", "restore", key, "--no-backup")
    assert "damaged" in result.stderr or "corrupt" in result.stderr
    assert (casman.directory / "parts.db").read_bytes() == raw_before
    assert fingerprint(casman.directory) == before
    assert not list(casman.directory.glob(".*restore*"))


def test_restore_refuses_a_backup_of_the_wrong_shape(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup")
    assembled_key = _keys(casman, "assembled_casm.db")[0]
    # present the assembled database under a parts.db key: schema check must refuse it
    from casman.config import load_config
    from casman.storage.plugins import open_storage

    storage = open_storage(load_config())
    body, info = storage.get(assembled_key)
    fake = "backups/parts.db/20200101_000000_parts.db"
    storage.put(fake, body, dict(info.metadata, database="parts.db"))
    before = (casman.directory / "parts.db").read_bytes()
    result = casman.fails("sync", "restore", fake, "--no-backup")
    assert "missing table" in result.stderr
    assert (casman.directory / "parts.db").read_bytes() == before


def test_restore_verifies_sha256_from_metadata(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup", "--parts")
    (key,) = _keys(casman)
    from casman.config import load_config
    from casman.storage.plugins import open_storage

    storage = open_storage(load_config())
    body, info = storage.get(key)
    forged = "backups/parts.db/20200101_000000_parts.db"
    storage.put(forged, body, dict(info.metadata, sha256="0" * 64))
    before = (casman.directory / "parts.db").read_bytes()
    result = casman.fails("sync", "restore", forged, "--no-backup")
    assert "is corrupt: its SHA-256" in result.stderr
    assert (casman.directory / "parts.db").read_bytes() == before


@pytest.mark.parametrize(
    "key",
    [
        "../parts.db",
        "backups/parts.db/../../x",
        "backups/other.db/20240101_000000_other.db",
        "backups/parts.db/20241308_000000_parts.db",
        "parts.dbx",
        "/backups/parts.db/20240101_000000_parts.db",
    ],
)
def test_restore_rejects_bad_keys_before_any_io(casman: Casman, remote: Path, key: str) -> None:
    result = casman.fails("sync", "restore", key)
    assert (
        "backup key" in result.stderr
        or "known database" in result.stderr
        or "timestamp" in result.stderr
    )
    assert not remote.exists()


def test_restore_keeps_safety_copies_local_and_remote(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup", "--parts")
    (old,) = _keys(casman)
    casman.ok("parts", "add", "ANT", "5", "1")
    out = casman.ok("sync", "restore", old).output
    assert "local safety copy" in out and "remote safety backup" in out
    assert _part_numbers(casman) == ["ANT00001P1"]
    keys = _keys(casman)
    assert len(keys) == 2  # the safety backup of the 6-antenna state
    newest = json.loads(casman.ok("sync", "list", "--db", "parts.db", "--json").output)[0]
    assert "safety backup before restore" in newest["operation"]
    copy = next((casman.directory / "safety").glob("parts.db.*.before-restore"))
    conn = sqlite3.connect(copy)
    assert conn.execute("SELECT COUNT(*) FROM parts").fetchone()[0] == 6
    conn.close()


def test_sync_fast_forwards_and_never_loses_local_changes(
    casman: Casman, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_a = casman.directory
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup")
    # site B starts from the backup
    site_b = tmp_path / "site-b"
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_b))
    out = casman.ok("sync", "sync").output
    assert "fast-forwarded" in out
    assert _part_numbers(casman) == ["ANT00001P1"]
    assert "nothing to do" in casman.ok("sync", "sync").output
    # site A moves on and backs up; site B (unchanged) fast-forwards
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_a))
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup")
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_b))
    casman.ok("sync", "sync")
    assert _part_numbers(casman) == ["ANT00001P1", "ANT00002P1"]
    # both sides change: sync merges, keeping B's LNA and A's third antenna on both sites
    casman.ok("parts", "add", "LNA", "1", "1")
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_a))
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup")
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_b))
    status = json.loads(casman.ok("sync", "status", "--json").output)
    assert {d["db_name"]: d["relation"] for d in status["databases"]}["parts.db"] == "diverged"
    merged = casman.ok("sync", "sync", "--parts").output
    assert "merged" in merged
    assert {"LNA00001P1", "ANT00003P1"} <= set(_part_numbers(casman))
    copies = list((site_b / "safety").glob("parts.db.*"))
    assert any(
        sqlite3.connect(c).execute("SELECT COUNT(*) FROM parts WHERE part_type='LNA'").fetchone()[0]
        for c in copies
        if not c.name.endswith(("-wal", "-shm"))
    )
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_a))
    casman.ok("sync", "sync", "--parts")
    assert {"LNA00001P1", "ANT00003P1"} <= set(_part_numbers(casman))


def test_sync_publishes_local_changes(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup")
    casman.ok("parts", "add", "ANT", "1", "1")
    out = casman.ok("sync", "sync").output
    assert "parts.db (ahead): published backups/parts.db/" in out
    assert len(_part_numbers(casman)) == 2


def test_sync_refuses_a_corrupt_newest_backup(
    casman: Casman, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup", "--parts")
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(tmp_path / "other"))
    casman.ok("parts", "add", "LNA", "1", "1")  # this site's own work
    stored = next(p for p in remote.rglob("*") if p.is_file() and "parts.db" in p.name)
    data = bytearray(stored.read_bytes())
    data[-10] ^= 0xFF
    stored.write_bytes(bytes(data))
    before = (tmp_path / "other" / "parts.db").read_bytes()
    casman.fails("sync", "sync", "--parts")
    assert (tmp_path / "other" / "parts.db").read_bytes() == before


def test_status_and_maintain(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    text = casman.ok("sync", "status").output
    assert "local backend reachable" in text and "no remote backup" in text
    casman.ok("sync", "backup")
    status = json.loads(casman.ok("sync", "status", "--json").output)
    assert status["reachable"] is True
    assert [d["relation"] for d in status["databases"]] == ["in sync", "in sync"]
    report = json.loads(casman.ok("sync", "maintain", "--json").output)
    assert len(report["verified"]) == 2 and report["problems"] == {}


def test_dry_run_sends_nothing(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    out = casman.ok("sync", "backup", "--dry-run").output
    assert "nothing is written" in out and "PUT" in out
    assert not remote.exists() or not any(remote.rglob("*parts.db"))
    casman.ok("sync", "maintain", "--dry-run")
    # the dry run runs the real path: a key that is not stored is said so, in one line
    missing = casman.fails(
        "sync", "restore", "backups/parts.db/20240101_000000_parts.db", "--dry-run"
    )
    assert "not found" in missing.stderr and missing.stderr.count("\n") == 1
    casman.ok("sync", "backup")
    key = _keys(casman)[0]
    casman.ok("parts", "add", "ANT", "1", "1")
    before = fingerprint(casman.directory)
    out = casman.ok("sync", "restore", key, "--dry-run").output
    assert f"GET    {key}" in out
    assert fingerprint(casman.directory) == before  # nothing restored


def test_unknown_backend_has_an_install_hint(casman: Casman) -> None:
    result = casman.fails("sync", "--backend", "gcs", "status")
    assert "unknown storage backend 'gcs'" in result.stderr


def test_a_backup_from_a_machine_whose_clock_is_behind_still_sorts_newest(
    casman: Casman, remote: Path
) -> None:
    from datetime import UTC, datetime

    from casman.config import load_config
    from casman.storage.plugins import open_storage
    from casman.sync.backup import backup_database
    from casman.sync.context import SyncContext

    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup", "--parts")
    (first,) = _keys(casman)
    casman.ok("parts", "add", "ANT", "1", "1")
    config = load_config()
    behind = SyncContext(
        config, open_storage(config), clock=lambda: datetime(2001, 1, 1, tzinfo=UTC)
    )
    result = backup_database(behind, "parts.db", "from a slow clock")
    keys = _keys(casman)
    assert keys == [result.key, first] and result.deleted == []
    newest = json.loads(casman.ok("sync", "list", "--db", "parts.db", "--json").output)[0]
    assert newest["records"] == 2
    assert newest["timestamp"].startswith("2001-01-01")  # the true time stays in the metadata


def test_a_new_site_with_empty_databases_fast_forwards(
    casman: Casman, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman.ok("parts", "add", "ANT", "2", "1")
    casman.ok("sync", "backup")
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(tmp_path / "new-site"))
    casman.fails("parts", "list")  # reading never creates databases
    from casman.db.connection import open_databases

    open_databases(tmp_path / "new-site").close()  # empty databases, as an old casman left
    out = casman.ok("sync", "sync").output
    assert "local database empty" in out and "fast-forwarded" in out
    assert _part_numbers(casman) == ["ANT00001P1", "ANT00002P1"]
