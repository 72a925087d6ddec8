"""A backup is data, never code: hostile or broken objects in the store change nothing.

Each test plants an object in a ``local`` store with honest metadata (a correct SHA-256, so
only the content checks can refuse it) and checks that the current database stays byte for
byte as it was.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from casman.config import load_config
from casman.storage.operations import Storage
from casman.storage.plugins import open_storage
from tests.conftest import Casman, fingerprint

FORGED = "backups/{db}/20200101_000000_{db}"


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "remote"
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(path))
    monkeypatch.delenv("CASMAN_SYNC_BACKEND", raising=False)
    return path


def _storage() -> Storage:
    return open_storage(load_config())


def _newest(casman: Casman, db: str) -> str:
    listing = json.loads(casman.ok("sync", "list", "--db", db, "--json").output)
    return str(listing[0]["key"])


def plant(casman: Casman, db: str, change: Callable[[sqlite3.Connection], None]) -> str:
    """Back up ``db``, alter a copy with ``change`` and store it with honest metadata."""
    casman.ok("sync", "backup")
    storage = _storage()
    body, info = storage.get(_newest(casman, db))
    work = casman.directory.parent / f"hostile-{db}"
    work.write_bytes(body)
    conn = sqlite3.connect(work)
    change(conn)
    conn.commit()
    conn.close()
    altered = work.read_bytes()
    key = FORGED.format(db=db)
    meta = dict(info.metadata, sha256=hashlib.sha256(altered).hexdigest(), size=str(len(altered)))
    meta.pop("fingerprint", None)
    storage.put(key, altered, meta)
    return key


def _refused_quickly(casman: Casman, key: str, expected: str) -> None:
    before = fingerprint(casman.directory)
    raw = {p.name: p.read_bytes() for p in casman.directory.glob("*.db")}
    start = time.monotonic()
    result = casman.fails("sync", "restore", key, "--no-backup")
    assert time.monotonic() - start < 1.0
    assert expected in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert {p.name: p.read_bytes() for p in casman.directory.glob("*.db")} == raw
    assert fingerprint(casman.directory) == before
    assert not list(casman.directory.glob(".*restore*"))


def test_a_backup_with_a_trigger_is_refused(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("parts", "add", "LNA", "1", "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    key = plant(
        casman,
        "assembled_casm.db",
        lambda c: c.execute(
            "CREATE TRIGGER wipe AFTER INSERT ON assembly BEGIN DELETE FROM assembly; END"
        ),
    )
    _refused_quickly(casman, key, "trigger")


def test_a_backup_with_a_view_is_refused(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    key = plant(casman, "parts.db", lambda c: c.execute("CREATE VIEW v AS SELECT * FROM parts"))
    _refused_quickly(casman, key, "view")


def test_a_crafted_table_name_neither_runs_nor_hangs(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    crafted = (
        'x" UNION ALL SELECT COUNT(*) FROM (WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL '
        "SELECT i + 1 FROM r) SELECT i FROM r) --"
    )
    key = plant(
        casman,
        "parts.db",
        lambda c: c.execute(f'CREATE TABLE "{crafted.replace(chr(34), chr(34) * 2)}" (a)'),
    )
    _refused_quickly(casman, key, "unexpected table")


def test_a_backup_with_the_wrong_columns_is_refused(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")

    def drop_column(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE parts RENAME TO old")
        conn.execute("CREATE TABLE parts (id INTEGER PRIMARY KEY, part_number TEXT UNIQUE)")
        conn.execute("INSERT INTO parts SELECT id, part_number FROM old")
        conn.execute("DROP TABLE old")

    key = plant(casman, "parts.db", drop_column)
    _refused_quickly(casman, key, "columns")
    casman.ok("parts", "list")


def test_an_object_too_large_is_refused_before_reading(
    casman: Casman, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup", "--parts")
    monkeypatch.setattr("casman.sync.verify.MAX_BACKUP_BYTES", 1024)
    monkeypatch.setattr("casman.sync.restore.MAX_BACKUP_BYTES", 1024)
    _refused_quickly(casman, _newest(casman, "parts.db"), "allowed")


def _put_junk(storage: Storage, key: str) -> None:
    storage.put(key, b"junk", {"database": "parts.db"})


def test_retention_keeps_good_backups_when_junk_sorts_newest(
    casman: Casman, remote: Path, tmp_path: Path
) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    keep_versions: 3\n")
    good = []
    for _ in range(3):
        casman.ok("parts", "add", "ANT", "1", "1")
        casman.ok("sync", "backup", "--parts", "--force")
        good.append(_newest(casman, "parts.db"))
    storage = _storage()
    junk = [f"backups/parts.db/2099010{n}_000000_parts.db" for n in (1, 2, 3)]
    for key in junk:
        _put_junk(storage, key)
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup", "--parts")
    keys = [
        info.key for info in storage.list("backups/parts.db/") if not info.key.endswith("HEAD.json")
    ]
    new = [k for k in keys if k not in junk and k not in good]
    assert len(new) == 1 and not new[0].startswith("backups/parts.db/2099")
    # three verified backups kept (the new one and the two newest good ones); junk untouched
    assert set(keys) == {*junk, *new, *good[1:]}
    # sync and status ignore the junk: the newest *verified* backup is the new one
    synced = json.loads(casman.ok("sync", "sync", "--parts", "--json").output)
    assert synced[0]["relation"] == "in sync"
    # maintain reports the junk and leaves it alone
    report = json.loads(casman("sync", "maintain", "--json").stdout)
    assert set(report["problems"]) == set(junk) and not report["deleted"]
    assert {info.key for info in storage.list("backups/parts.db/")} == {
        *keys,
        "backups/parts.db/HEAD.json",
    }


def test_maintain_deep_finds_a_flipped_byte_and_says_which_level(
    casman: Casman, remote: Path
) -> None:
    casman.ok("parts", "add", "ANT", "2", "1")
    casman.ok("sync", "backup", "--parts")
    stored = next(p for p in remote.rglob("*parts.db*") if p.is_file() and p.stat().st_size > 4096)
    data = bytearray(stored.read_bytes())
    data[-10] ^= 0x01
    stored.write_bytes(bytes(data))
    shallow = casman("sync", "maintain")
    deep = casman("sync", "maintain", "--deep")
    assert "metadata" in shallow.output
    assert deep.exit_code == 1 and "content" in deep.output
    assert "corrupt" in deep.output or "MD5" in deep.output


def test_sync_list_shows_no_terminal_escapes(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup", "--parts", "--operation", "evil \x1b[2J\x1b]0;owned\x07 text")
    out = casman.ok("sync", "list").output
    assert "\x1b" not in out and "\x07" not in out
    assert "evil ?[2J?]0;owned? text" in out


def test_a_killed_restore_leaves_nothing_behind_after_the_next_one(
    casman: Casman, remote: Path
) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup", "--parts")
    orphan = casman.directory / ".parts.db.abc123.restore"
    orphan.write_bytes(b"x" * 1000)
    orphan.with_name(orphan.name + "-wal").write_bytes(b"w")
    casman.ok("sync", "restore", _newest(casman, "parts.db"), "--no-backup")
    assert not orphan.exists() and not orphan.with_name(orphan.name + "-wal").exists()


def test_thirty_restores_keep_a_bounded_number_of_safety_copies(
    casman: Casman, remote: Path
) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "backup", "--parts")
    key = _newest(casman, "parts.db")

    def files() -> set[str]:
        # the live databases' own -wal/-shm come and go with SQLite's connections
        live = {f"{db}{s}" for db in ("parts.db", "assembled_casm.db") for s in ("-wal", "-shm")}
        return {p.name for p in casman.directory.iterdir()} - live - {"safety"}

    before = files()
    for _ in range(30):
        casman.ok("sync", "restore", key, "--no-backup")
    assert files() == before  # no stray -wal/-shm or temp files
    copies = list((casman.directory / "safety").iterdir())
    assert 1 <= len(copies) <= 5


def test_restore_on_a_full_disk_is_one_line_and_changes_nothing(
    casman: Casman, remote: Path
) -> None:
    import os
    import subprocess
    import sys

    casman.ok("parts", "add", "ANT", "300", "1")
    casman.ok("sync", "backup", "--parts")
    key = _newest(casman, "parts.db")
    before = fingerprint(casman.directory)
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "from casman.cli import main\n"
        "sys.argv = ['casman', 'sync', 'restore', sys.argv[1], '--no-backup']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, key], capture_output=True, text=True, env=dict(os.environ)
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "File too large" in done.stderr or "space" in done.stderr
    assert fingerprint(casman.directory) == before
    assert not list(casman.directory.glob(".*restore*"))
    shutil.rmtree(casman.directory / "safety", ignore_errors=True)
