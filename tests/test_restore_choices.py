"""``sync restore`` by database name, ``latest`` and ``--at``; asking before it replaces."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Casman, fingerprint
from tests.test_real_processes import _casman_exe


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "remote"))
    return tmp_path / "remote"


def _versions(casman: Casman, db: str) -> list[dict[str, object]]:
    return list(json.loads(casman.ok("sync", "list", "--db", db, "--json").stdout))


def _count(casman: Casman) -> int:
    return len(json.loads(casman.ok("parts", "list", "--json").stdout))


def test_restore_a_database_by_name_and_at_a_time(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("sync", "backup", "--parts")
    first = _versions(casman, "parts.db")[0]
    time.sleep(1.1)
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("sync", "backup", "--parts")
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    out = casman.ok("sync", "restore", "parts.db", "--no-backup").stdout
    assert _count(casman) == 2 and "restored parts.db" in out
    stamp = str(first["timestamp"])
    casman.ok("sync", "restore", "parts.db", "--at", stamp, "--no-backup")
    assert _count(casman) == 1
    early = casman.fails("sync", "restore", "parts.db", "--at", "2001-01-01T00:00:00Z")
    assert "no published version of parts.db taken at or before" in early.stderr
    bad = casman.fails("sync", "restore", "parts.db", "--at", "yesterday")
    assert "is not a time" in bad.stderr


def test_restore_latest_restores_both_databases(casman: Casman, remote: Path) -> None:
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("parts", "add", "LNA", "1", "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    casman.ok("sync", "backup")
    casman.ok("assembly", "disconnect", "ANT00001P1", "LNA00001P1")
    out = casman.ok("sync", "restore", "latest", "--no-backup").stdout
    assert "restored parts.db" in out and "restored assembled_casm.db" in out
    history = json.loads(casman.ok("assembly", "history", "ANT00001P1", "--json").stdout)
    assert [e["connection_status"] for e in history] == ["connected"]


def _restore_on_a_terminal(env: dict[str, str], answer: bytes, *args: str) -> tuple[int, str]:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*_casman_exe(), "sync", "restore", *args],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(follower)
    os.write(leader, answer)
    out, err = process.communicate(timeout=60)
    os.close(leader)
    return process.returncode, (out + err).decode()


def test_a_terminal_is_asked_before_replacing_and_a_pipe_is_not(
    casman: Casman, remote: Path
) -> None:
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("sync", "backup", "--parts")
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    env = dict(os.environ)
    before = fingerprint(casman.directory)
    code, text = _restore_on_a_terminal(env, b"n\n", "parts.db", "--no-backup")
    assert code == 1 and "Replace the local database(s)" in text
    assert fingerprint(casman.directory) == before
    code, text = _restore_on_a_terminal(env, b"", "parts.db", "--no-backup", "--yes")
    assert code == 0 and "Replace the local" not in text
    piped = subprocess.run(
        [*_casman_exe(), "sync", "restore", "parts.db", "--no-backup"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert piped.returncode == 0 and "Replace the local" not in piped.stderr
