"""Automatic publishing: on by default, never in the way of a change, nothing lost offline.

Every change is a record in the site's database; after each one the CLI starts a detached
publisher (``python -m casman.sync.uploader``) that syncs. Real processes throughout: the
``casman`` console script, the publishers it starts, a ``local`` store or the moto S3
server, and a blackholed endpoint (a socket that accepts connections and never answers).

The publishers run on their own time, so these tests wait for a condition (with generous
deadlines), never for a fixed while: a publisher's start leaves its log file at once (it
is opened by the command that starts it), and it is finished when no process of it is left.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from casman_s3.testing import blackhole

from casman.testing.moto import moto_server, s3_bucket  # noqa: F401
from tests.test_real_processes import _casman_exe

pytestmark = pytest.mark.slow

PUBLISHER_LOG = ".casman-publisher.log"


def _env(tmp_path: Path, name: str = "db", **extra: str) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("CASMAN_", "R2_"))
    }
    env.update(
        CASMAN_DATABASE_DIR=str(tmp_path / name),
        CASMAN_LOCAL_PATH=str(tmp_path / "store"),
        HOME=str(tmp_path / "home"),
    )
    env.update(extra)
    return env


def casman(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*_casman_exe(), *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def wait_for(condition: Callable[[], bool], seconds: float = 120.0) -> None:
    """Poll ``condition`` until it holds; the deadline only bounds a broken run."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _publishers(db: Path) -> int:
    """How many publisher processes of this database directory are alive."""
    alive = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            words = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"casman.sync.uploader" in words and str(db).encode() in words and state != "Z":
            alive += 1
    return alive


def _publishers_done(db: Path) -> bool:
    return (db / PUBLISHER_LOG).exists() and _publishers(db) == 0


def _store_records(store: Path) -> list[dict[str, Any]]:
    """The records the store's head leads to, read straight from the files (not through
    casman, which would sync)."""
    head_path = store / "head.json"
    if not head_path.exists():
        return []
    head = json.loads(head_path.read_bytes())
    found: list[dict[str, Any]] = []
    for tip in head["sites"].values():
        key: str | None = tip["key"]
        while key is not None:
            segment = json.loads(gzip.decompress((store / key).read_bytes()))
            found += segment["records"]
            key = segment["previous"]
    return found


def _status(env: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(casman(env, "sync", "status", "--json").stdout))


def _part_numbers(env: dict[str, str]) -> set[str]:
    return {p["part_number"] for p in json.loads(casman(env, "parts", "list", "--json").stdout)}


def test_a_change_with_default_settings_is_published_by_itself(tmp_path: Path) -> None:
    env = _env(tmp_path)
    db, store = tmp_path / "db", tmp_path / "store"
    casman(env, "parts", "add", "ANTENNA", "2", "1")
    wait_for(lambda: [r["kind"] for r in _store_records(store)] == ["parts add"])
    wait_for(lambda: _publishers_done(db))
    assert "published 1 change(s)" in (db / PUBLISHER_LOG).read_text()
    automatic = _status(env)["automatic"]
    assert automatic["enabled"] is True and automatic["pending_changes"] == 0
    # another site (publishing by hand) receives it from the store
    other = _env(tmp_path, "other", CASMAN_AUTO_BACKUP="false")
    assert "received 1 change(s)" in casman(other, "sync", "sync").stdout
    assert _part_numbers(other) == {"ANT00001P1", "ANT00002P1"}


@pytest.mark.parametrize("how", ["config", "environment"])
def test_auto_backup_false_turns_it_off(tmp_path: Path, how: str) -> None:
    if how == "config":
        (tmp_path / "config.yaml").write_text("database:\n  sync:\n    auto_backup: false\n")
        env = _env(tmp_path, CASMAN_CONFIG=str(tmp_path / "config.yaml"))
    else:
        env = _env(tmp_path, CASMAN_AUTO_BACKUP="false")
    casman(env, "parts", "add", "ANTENNA", "2", "1")
    casman(env, "parts", "add", "LNA", "1", "1")
    # the command that starts a publisher opens its log before returning: none was started
    assert not (tmp_path / "db" / PUBLISHER_LOG).exists()
    assert not (tmp_path / "store").exists()
    status = casman(env, "sync", "status").stdout
    assert "Automatic publishing: off" in status
    assert "Waiting:              2 change(s)" in status


def test_a_scan_session_with_publishers_running_meanwhile_publishes_every_scan(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path)
    db, store = tmp_path / "db", tmp_path / "store"
    casman(env, "parts", "add", "ANTENNA", "12", "1")
    casman(env, "parts", "add", "LNA", "12", "1")
    script = "".join(f"ANT{n:05d}P1\nLNA{n:05d}P1\n" for n in range(1, 13))
    scanned = subprocess.run(
        [*_casman_exe(), "scan", "connection"],
        input=script,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert scanned.returncode == 0, scanned.stderr
    assert scanned.stdout.count("✓") == 12  # publishing never failed a scan
    wait_for(lambda: len(_store_records(store)) == 14)
    wait_for(lambda: _publishers_done(db))
    assert "failed" not in (db / PUBLISHER_LOG).read_text()
    assert _status(env)["automatic"]["pending_changes"] == 0


def test_the_backend_down_then_back_loses_nothing(
    tmp_path: Path,
    moto_server: str,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    base = _env(tmp_path, CASMAN_SYNC_BACKEND="s3", CASMAN_S3_BUCKET=s3_bucket)
    db = tmp_path / "db"
    with blackhole() as dead:
        down = dict(base, CASMAN_S3_ENDPOINT=dead.url)
        casman(down, "parts", "add", "ANTENNA", "25", "1")
        casman(down, "parts", "add", "LNA", "25", "1")
        script = "".join(f"ANT{n:05d}P1\nLNA{n:05d}P1\n" for n in range(1, 26))
        scanned = subprocess.run(
            [*_casman_exe(), "scan", "connection"],
            input=script,
            env=down,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert scanned.returncode == 0, scanned.stderr
        assert scanned.stdout.count("✓") == 25  # a hung store never failed a scan
        wait_for(lambda: _publishers_done(db), 300)
        assert dead.connections > 0  # the publishers did try
        log = (db / PUBLISHER_LOG).read_text()
        assert "failed (the changes wait in the database)" in log
        status = _status(down)
    # every change waits in the database (status reads it locally)
    assert status["reachable"] is False
    assert status["automatic"]["pending_changes"] == 27
    up = dict(base, CASMAN_S3_ENDPOINT=moto_server)
    pushed = casman(up, "sync", "push")
    assert "published 27 change(s)" in pushed.stdout
    assert _status(up)["automatic"]["pending_changes"] == 0
    wait_for(lambda: _publishers(db) == 0)
    # a second site receives all of it from the store
    other = dict(up, CASMAN_DATABASE_DIR=str(tmp_path / "other"), CASMAN_AUTO_BACKUP="false")
    casman(other, "sync", "sync")
    assert len(_part_numbers(other)) == 50
    chains = json.loads(casman(other, "assembly", "history", "ANT00025P1", "--json").stdout)
    assert [e["connected_to"] for e in chains] == ["LNA00025P1"]


def test_sync_disabled_sends_nothing(tmp_path: Path) -> None:
    with blackhole() as server:
        env = _env(
            tmp_path,
            CASMAN_SYNC_ENABLED="false",
            CASMAN_SYNC_BACKEND="s3",
            CASMAN_S3_BUCKET="nothing",
            CASMAN_S3_ENDPOINT=server.url,
        )
        casman(env, "parts", "add", "ANTENNA", "2", "1")
        refused = casman(env, "sync", "backup", check=False)
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1 and "sync is disabled" in refused.stderr
        casman(env, "sync", "status")
        assert not (tmp_path / "db" / PUBLISHER_LOG).exists()  # no publisher started
        assert server.connections == 0


def test_backend_disabled_is_the_same_as_enabled_false(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    backend: disabled\n")
    env = _env(tmp_path, CASMAN_CONFIG=str(tmp_path / "config.yaml"))
    casman(env, "parts", "add", "ANTENNA", "1", "1")
    assert "sync is disabled" in casman(env, "sync", "backup", check=False).stderr
    assert not (tmp_path / "db" / PUBLISHER_LOG).exists()
    assert not (tmp_path / "store").exists()


def test_a_stale_off_site_copy_is_announced_on_every_command(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "database:\n  sync:\n    auto_backup: false\n    stale_after_hours: 0.0001\n"
    )
    env = _env(tmp_path, CASMAN_CONFIG=str(tmp_path / "config.yaml"))
    casman(env, "parts", "add", "ANTENNA", "1", "1")
    # 0.36 s after the change it is stale: every command says so from then on
    wait_for(lambda: "have not been off-site" in casman(env, "parts", "list").stderr, 60)
    warned = casman(env, "parts", "list").stderr
    assert "1 change(s) made here" in warned and "casman sync sync" in warned
    casman(env, "sync", "backup")
    assert "Warning" not in casman(env, "parts", "list").stderr


def test_the_s3_example_configured_through_r2_is_refused_with_a_pointer(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "database:\n  sync:\n    backend: s3\n    auto_backup: false\n"
        "r2:\n  bucket_name: casman-databases\n  region: us-west-2\n"
    )
    env = _env(tmp_path, CASMAN_CONFIG=str(tmp_path / "config.yaml"))
    refused = casman(env, "sync", "status", check=False)
    assert refused.returncode == 1 and "`s3:` section" in refused.stderr
