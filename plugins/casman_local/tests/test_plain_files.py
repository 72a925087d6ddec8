"""A user's view: backups are plain SQLite files, and a 0.1 store keeps working.

These run the real ``casman`` CLI (``casman.testing.CasmanRunner``) on a local store and
then look at the store with nothing but ``sqlite3``, as on the day casman is unavailable.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from casman_local.backend import LOCK_NAME, META_SUFFIX, LocalBackend
from casman_local.release_0_1 import downgrade, legacy_files, write_object

from casman.storage import PreconditionFailedError, content_md5
from casman.testing import CasmanRunner, casman_runner

__all__ = ["casman_runner"]  # the fixture, imported so pytest finds it

KEY = "backups/parts.db/20240101_000000_parts.db"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def casman(casman_runner: CasmanRunner, store: Path) -> CasmanRunner:
    return casman_runner.with_env(CASMAN_LOCAL_PATH=str(store), CASMAN_SYNC_BACKEND="local")


def _add_parts(casman: CasmanRunner, count: int) -> None:
    casman.ok("parts", "add", "ANTENNA", str(count), "1")
    casman.ok("parts", "add", "LNA", str(count), "1")


def _newest(store: Path, db_name: str) -> Path:
    backups = sorted(
        path for path in (store / "backups" / db_name).iterdir() if "@" not in path.name
    )
    return [path for path in backups if path.name != "HEAD.json"][-1]


def _count(path: Path) -> int:
    """``select count(*) from parts`` with the sqlite3 shell if there is one, else Python."""
    if shutil.which("sqlite3"):
        done = subprocess.run(
            ["sqlite3", str(path), "select count(*) from parts"],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(done.stdout.strip())
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        (count,) = connection.execute("select count(*) from parts").fetchone()
    connection.close()
    return int(count)


def test_a_backup_opens_with_sqlite3(casman: CasmanRunner, store: Path) -> None:
    _add_parts(casman, 3)
    casman.ok("sync", "backup")
    newest = _newest(store, "parts.db")
    assert _count(newest) == 6
    assert (newest.parent / (newest.name + META_SUFFIX)).is_file()
    metadata = json.loads((newest.parent / (newest.name + META_SUFFIX)).read_text())
    assert metadata["objects"][0]["metadata"]["casman-database"] == "parts.db"
    # nothing else but the heads, the backups, their metadata and the one lock file
    names = {path.name for path in store.rglob("*") if path.is_file()}
    assert not [n for n in names if n.endswith("@casman") or n.endswith(".lock")]
    assert LOCK_NAME in names and not (store / "@locks").exists()


def test_a_0_1_store_is_read_then_converted_by_maintain(casman: CasmanRunner, store: Path) -> None:
    _add_parts(casman, 2)
    casman.ok("sync", "backup")
    _add_parts(casman, 1)
    casman.ok("sync", "backup")
    before = json.loads(casman.ok("sync", "list", "--json").stdout)
    downgrade(store)  # the same objects as 0.1 would have written them
    assert legacy_files(store) and not list(store.rglob("*" + META_SUFFIX))

    # read as it is
    assert json.loads(casman.ok("sync", "list", "--json").stdout) == before
    status = json.loads(casman.ok("sync", "status", "--json").stdout)
    assert status["reachable"] is True

    # converted in place by maintain, which says so
    report = json.loads(casman.ok("sync", "maintain", "--json").stdout)
    assert report["problems"] == {}
    checkpoint_keys = {k for c in before["checkpoints"] for k in c["keys"].values()}
    assert checkpoint_keys <= set(report["verified"])
    assert any(line.startswith("converted backups/parts.db/") for line in report["tidied"])
    assert "removed the 0.1 lock folder @locks/" in report["tidied"]
    assert legacy_files(store) == []
    assert _count(_newest(store, "parts.db")) == 6
    assert json.loads(casman.ok("sync", "list", "--json").stdout) == before

    # and still a working store: the older checkpoint restores, maintain finds nothing
    older = min(before["checkpoints"], key=lambda c: c["records"])["keys"]["parts.db"]
    casman.ok("sync", "restore", older, "--output", str(store.parent / "then"))
    assert _count(store.parent / "then" / "parts.db") == 4
    again = json.loads(casman.ok("sync", "maintain", "--json").stdout)
    assert again["tidied"] == [] and again["problems"] == {}


def test_0_1_objects_are_read_swapped_and_converted(store: Path) -> None:
    write_object(store, KEY, b"old backup", {"database": "parts.db"})
    write_object(store, "backups/parts.db/HEAD.json", b'{"v": 0}', {})
    backend = LocalBackend(store)
    body, info = backend.get(KEY)
    assert (body, dict(info.metadata)) == (b"old backup", {"database": "parts.db"})
    keys = [i.key for i in backend.list_page("", None, 10).objects]
    assert keys == ["backups/parts.db/20240101_000000_parts.db", "backups/parts.db/HEAD.json"]
    with pytest.raises(PreconditionFailedError):
        backend.put(KEY, b"x", metadata={}, content_md5=content_md5(b"x"), if_none_match="*")
    # a head of 0.1 is moved by compare-and-swap from its 0.1 ETag, into the new layout
    head = backend.head("backups/parts.db/HEAD.json")
    backend.put(
        "backups/parts.db/HEAD.json",
        b'{"v": 1}',
        metadata={},
        content_md5=content_md5(b'{"v": 1}'),
        if_match=head.etag,
    )
    assert legacy_files(store) == [
        "@locks/" + name for name in sorted(p.name for p in (store / "@locks").iterdir())
    ] + ["backups/parts.db/20240101_000000_parts.db@casman"]
    done = backend.tidy("backups/")
    assert done == [f"converted {KEY} to a plain file", "removed the 0.1 lock folder @locks/"]
    assert (store / KEY).read_bytes() == b"old backup"
    assert dict(backend.head(KEY).metadata) == {"database": "parts.db"}
    assert backend.get("backups/parts.db/HEAD.json")[0] == b'{"v": 1}'
    assert legacy_files(store) == []


def test_a_damaged_0_1_object_is_left_in_place(store: Path) -> None:
    path = write_object(store, KEY, b"precious", {"database": "parts.db"})
    path.write_bytes(path.read_bytes()[:-2])
    backend = LocalBackend(store)
    (line,) = [d for d in backend.tidy("backups/") if "@locks" not in d]
    assert line.startswith(f"left {KEY}@casman in place: stored object {KEY} is damaged")
    assert path.exists() and not (store / KEY).exists()
