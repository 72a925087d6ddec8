"""Automatic backups: on by default, never slowing a change, queued while the link is down.

Real processes throughout: the ``casman`` console script, the detached uploader it starts,
a ``local`` store or the moto S3 server, and a blackholed endpoint (a socket that accepts
connections and never answers).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from casman_s3.testing import blackhole

from casman.testing.moto import moto_server, s3_bucket  # noqa: F401
from tests.test_real_processes import _casman_exe

pytestmark = pytest.mark.slow


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("CASMAN_", "R2_"))
    }
    env.update(
        CASMAN_DATABASE_DIR=str(tmp_path / "db"),
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


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _heads(store: Path) -> dict[str, list[dict[str, object]]]:
    """The versions each head names, read with the local backend itself (not the CLI,
    which would publish what is queued)."""
    from casman_local.backend import LocalBackend

    from casman.storage.errors import ObjectNotFoundError

    backend = LocalBackend(str(store))
    found = {}
    for db in ("parts.db", "assembled_casm.db"):
        try:
            body, _ = backend.get(f"backups/{db}/HEAD.json")
        except (ObjectNotFoundError, OSError):
            continue
        found[db] = json.loads(body)["versions"]
    return found


def _uploader_done(db: Path) -> bool:
    lock = db / "outbox" / ".outbox.lock"
    log = db / "outbox" / "uploader.log"
    if not log.exists():
        return False
    try:
        from filelock import FileLock

        with FileLock(str(lock), timeout=0):
            return True
    except Exception:
        return False


def test_parts_add_with_default_settings_leaves_a_backup(tmp_path: Path) -> None:
    env = _env(tmp_path)
    casman(env, "parts", "add", "ANTENNA", "2", "1")
    store = tmp_path / "store"
    wait_for(lambda: "parts.db" in _heads(store) and bool(_heads(store)["parts.db"]))
    listing = json.loads(casman(env, "sync", "list", "--db", "parts.db", "--json").stdout)
    assert listing and listing[0]["records"] == 2
    assert listing[0]["operation"].startswith("automatic backup")


def test_auto_backup_false_turns_them_off(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    auto_backup: false\n")
    env = _env(tmp_path, CASMAN_CONFIG=str(tmp_path / "config.yaml"))
    casman(env, "parts", "add", "ANTENNA", "2", "1")
    time.sleep(1.0)
    assert not (tmp_path / "store").exists()
    status = casman(env, "sync", "status").stdout
    assert "Automatic backups:    off" in status
    assert "2 change(s) since backup" in status


def test_every_n_changes_and_status_says_how_many_remain(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    backup_on_scan_count: 3\n")
    env = _env(tmp_path, CASMAN_CONFIG=str(tmp_path / "config.yaml"))
    casman(env, "parts", "add", "ANTENNA", "3", "1")
    casman(env, "parts", "add", "LNA", "3", "1")
    casman(env, "assembly", "connect", "ANT00001P1", "LNA00001P1")
    status = casman(env, "sync", "status").stdout
    assert "2 scan(s) until backup" in status
    casman(env, "assembly", "connect", "ANT00002P1", "LNA00002P1")
    casman(env, "assembly", "connect", "ANT00003P1", "LNA00003P1")
    store = tmp_path / "store"
    wait_for(lambda: bool(_heads(store).get("assembled_casm.db")))
    wait_for(lambda: _uploader_done(tmp_path / "db"))
    versions = _heads(store)["assembled_casm.db"]
    assert versions[0]["records"] == 3


def test_the_backend_down_then_back_loses_nothing(
    tmp_path: Path,
    moto_server: str,  # noqa: F811
    s3_bucket: str,  # noqa: F811
) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    backup_on_scan_count: 5\n")
    base = _env(
        tmp_path,
        CASMAN_CONFIG=str(tmp_path / "config.yaml"),
        CASMAN_SYNC_BACKEND="s3",
        CASMAN_S3_BUCKET=s3_bucket,
    )
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
        assert scanned.stdout.count("✓") == 25
        wait_for(lambda: _uploader_done(db), 60)
        # every due backup waits in the outbox (status reads it locally, quickly)
        status = json.loads(casman(down, "sync", "status", "--json").stdout)
    queued = sorted((db / "outbox").glob("*.json"))
    assert queued, "due backups are queued while the backend is down"
    assert len(status["automatic"]["outbox"]) == len(queued)
    assert status["reachable"] is False
    up = dict(base, CASMAN_S3_ENDPOINT=moto_server)
    pushed = casman(up, "sync", "push")
    assert "published" in pushed.stderr
    assert not list((db / "outbox").glob("*.json"))
    listing = json.loads(casman(up, "sync", "list", "--json").stdout)
    assembled = [v for v in listing if v["database"] == "assembled_casm.db"]
    assert assembled and assembled[0]["records"] == 25
    # newest first, oldest queued first: records only grow from one version to the next
    records = [v["records"] for v in reversed(assembled)]
    assert records == sorted(records)
    status = casman(up, "sync", "status").stdout
    assert "0 change(s) since backup" in status


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
        time.sleep(1.0)
        assert server.connections == 0
    assert not (tmp_path / "db" / "outbox" / "uploader.log").exists()


def test_backend_disabled_is_the_same_as_enabled_false(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    backend: disabled\n")
    env = _env(tmp_path, CASMAN_CONFIG=str(tmp_path / "config.yaml"))
    casman(env, "parts", "add", "ANTENNA", "1", "1")
    assert "sync is disabled" in casman(env, "sync", "backup", check=False).stderr
    assert not (tmp_path / "store").exists()


def test_a_stale_off_site_copy_is_announced_on_every_command(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "database:\n  sync:\n    auto_backup: false\n    stale_after_hours: 0.0001\n"
    )
    env = _env(tmp_path, CASMAN_CONFIG=str(tmp_path / "config.yaml"))
    casman(env, "parts", "add", "ANTENNA", "1", "1")
    time.sleep(0.5)
    listed = casman(env, "parts", "list")
    assert "never been backed up off-site" in listed.stderr
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
