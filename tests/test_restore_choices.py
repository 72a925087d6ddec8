"""``sync restore``: going back to a moment, and repair, kept apart.

Going back writes the databases of a moment into a folder (the live ones untouched), or
makes the whole array what it was then as one *revert* change that every site receives,
after asking (a terminal is asked, a pipe must say ``--yes``). Repair (no moment) sets a
damaged database aside with a safety copy and rebuilds it from the store.
"""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Casman, fingerprint
from tests.test_real_processes import _casman_exe

DATABASES = ("parts.db", "assembled_casm.db")


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "remote"))
    monkeypatch.delenv("CASMAN_SYNC_BACKEND", raising=False)
    return tmp_path / "remote"


def _moments(casman: Casman) -> list[dict[str, Any]]:
    return list(json.loads(casman.ok("sync", "restore", "--list-times", "--json").output))


def _part_numbers(casman: Casman) -> list[str]:
    return [p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").output)]


def _links(casman: Casman, *parts: str) -> set[tuple[str, str]]:
    """The links of ``parts`` standing now (the newest event of each pair is a connect)."""
    newest: dict[tuple[str, str], str] = {}
    for part in parts:
        events = json.loads(casman.ok("assembly", "history", part, "--json").output)
        for event in events:
            newest[(event["part_number"], event["connected_to"])] = event["connection_status"]
    return {pair for pair, status in newest.items() if status == "connected"}


def _raw(directory: Path) -> dict[str, bytes]:
    """The database files and what their write-ahead logs hold, byte for byte (an empty
    log that a reader's connection leaves is no content)."""
    files = {
        name: (directory / name).read_bytes()
        for db in DATABASES
        for name in (db, f"{db}-wal")
        if (directory / name).exists()
    }
    return {name: body for name, body in files.items() if body or not name.endswith("-wal")}


def _setup(casman: Casman) -> str:
    """Parts, one link; returns the moment of that link (before what follows)."""
    casman.ok("parts", "add", "ANTENNA", "3", "1")
    casman.ok("parts", "add", "LNA", "3", "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    moment = str(_moments(casman)[-1]["at"])
    casman.ok("assembly", "connect", "ANT00002P1", "LNA00002P1")
    casman.ok("assembly", "disconnect", "ANT00001P1", "LNA00001P1")
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    return moment


def test_list_times_names_every_change_in_order_without_the_store(
    casman: Casman, remote: Path
) -> None:
    _setup(casman)
    moments = _moments(casman)
    assert [m["kind"] for m in moments] == [
        "parts add",
        "parts add",
        "connect",
        "connect",
        "disconnect",
        "parts add",
    ]
    assert [m["at"] for m in moments] == sorted(m["at"] for m in moments)
    assert len({m["site"] for m in moments}) == 1
    text = casman.ok("sync", "restore", "--list-times").output.splitlines()
    assert len(text) == 6 and all("Z  " in line for line in text)
    assert not remote.exists()  # listed from this site's own records: works offline
    casman.ok("sync", "sync")
    span = json.loads(casman.ok("sync", "list", "--json").output)["restorable"]
    assert span["moments"] == 6


def test_restore_at_a_time_into_a_folder_leaves_the_live_files_unchanged(
    casman: Casman, remote: Path, tmp_path: Path
) -> None:
    moment = _setup(casman)
    fingerprint(casman.directory)  # WAL content into the files, so they can be compared
    live = _raw(casman.directory)
    output = tmp_path / "then"
    out = casman.ok("sync", "restore", "--at", moment, "--output", str(output)).output
    assert "the live databases are unchanged" in out
    assert _raw(casman.directory) == live  # byte for byte
    parts = sqlite3.connect(output / "parts.db")
    assert len(parts.execute("SELECT * FROM parts").fetchall()) == 6  # not the 7th antenna
    parts.close()
    assembled = sqlite3.connect(output / "assembled_casm.db")
    rows = assembled.execute("SELECT part_number, connected_to, connection_status FROM assembly")
    assert rows.fetchall() == [("ANT00001P1", "LNA00001P1", "connected")]
    assembled.close()
    assert "ANT00004P1" in _part_numbers(casman)  # the live array went on
    # the folder now holds databases: a second restore into it overwrites nothing
    before = _raw(output)
    again = casman.fails("sync", "restore", "--at", moment, "--output", str(output))
    assert again.stderr.count("\n") == 1 and "choose an empty folder" in again.stderr
    assert _raw(output) == before


def test_restore_a_checkpoint_into_a_folder(casman: Casman, remote: Path, tmp_path: Path) -> None:
    casman.ok("parts", "add", "ANTENNA", "2", "1")
    casman.ok("sync", "backup")
    (checkpoint,) = json.loads(casman.ok("sync", "list", "--json").output)["checkpoints"]
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    key = checkpoint["keys"]["parts.db"]
    casman.ok("sync", "restore", key, "--output", str(tmp_path / "then"))
    conn = sqlite3.connect(tmp_path / "then" / "parts.db")
    assert conn.execute("SELECT COUNT(*) FROM parts").fetchone()[0] == 2
    conn.close()
    assert len(_part_numbers(casman)) == 3


def test_going_back_is_one_revert_change_that_every_site_receives(
    casman: Casman, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_a, site_b = casman.directory, tmp_path / "site-b"
    moment = _setup(casman)
    casman.ok("sync", "sync")
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_b))
    casman.ok("sync", "sync")
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_a))
    count = len(_moments(casman))
    out = casman.ok("sync", "restore", "--at", moment, "--yes").output
    assert "as one change" in out
    moments = _moments(casman)
    assert len(moments) == count + 1 and moments[-1]["kind"] == "revert"
    pairs = ("ANT00001P1", "ANT00002P1")
    assert _links(casman, *pairs) == {("ANT00001P1", "LNA00001P1")}
    assert "ANT00004P1" in _part_numbers(casman)  # parts are never deleted: labels exist
    history = json.loads(casman.ok("assembly", "history", "ANT00002P1", "--json").output)
    assert [e["connection_status"] for e in history] == ["connected", "disconnected"]
    # the revert is a change like any other: it reaches site B, and B's next sync keeps it
    casman.ok("sync", "sync")
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_b))
    casman.ok("sync", "sync")
    assert _links(casman, *pairs) == {("ANT00001P1", "LNA00001P1")}
    casman.ok("sync", "sync")
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_a))
    casman.ok("sync", "sync")
    assert _links(casman, *pairs) == {("ANT00001P1", "LNA00001P1")}
    # going back to where the array already is changes nothing and records nothing
    again = casman.ok("sync", "restore", "--at", moments[-1]["at"], "--yes").output
    assert "nothing to change" in again
    assert len(_moments(casman)) == count + 1


def _restore(args: list[str], stdin: Any = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_casman_exe(), "sync", "restore", *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )


def test_a_pipe_without_yes_is_refused_with_one_line_and_nothing_changes(
    casman: Casman, remote: Path
) -> None:
    moment = _setup(casman)
    before, count = fingerprint(casman.directory), len(_moments(casman))
    piped = _restore(["--at", moment])
    assert piped.returncode == 2
    assert piped.stderr.count("\n") == 1 and "--yes" in piped.stderr
    assert "Traceback" not in piped.stderr
    assert fingerprint(casman.directory) == before
    assert len(_moments(casman)) == count
    done = _restore(["--at", moment, "--yes"])
    assert done.returncode == 0, done.stderr
    assert len(_moments(casman)) == count + 1


def _on_a_terminal(answer: bytes, *args: str) -> tuple[int, str]:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*_casman_exe(), "sync", "restore", *args],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    os.close(follower)
    os.write(leader, answer)
    out, err = process.communicate(timeout=60)
    os.close(leader)
    return process.returncode, (out + err).decode()


def test_a_terminal_is_asked_before_the_array_goes_back(casman: Casman, remote: Path) -> None:
    moment = _setup(casman)
    before, count = fingerprint(casman.directory), len(_moments(casman))
    code, text = _on_a_terminal(b"n\n", "--at", moment)
    assert code == 1 and "Make the array what it was at" in text and "Aborted" in text
    assert fingerprint(casman.directory) == before
    code, text = _on_a_terminal(b"y\n", "--at", moment)
    assert code == 0 and "as one change" in text
    assert len(_moments(casman)) == count + 1
    code, text = _on_a_terminal(b"", "--at", _moments(casman)[2]["at"], "--yes")
    assert code == 0 and "Make the array" not in text


def _damage(path: Path) -> bytes:
    damaged = b"\x00" * 4096
    path.write_bytes(damaged)
    for sidecar in ("-wal", "-shm"):
        Path(f"{path}{sidecar}").unlink(missing_ok=True)
    return damaged


@pytest.mark.parametrize("db_name", DATABASES)
def test_repair_rebuilds_a_damaged_database_and_keeps_a_safety_copy(
    casman: Casman, remote: Path, db_name: str
) -> None:
    _setup(casman)
    casman.ok("sync", "sync")
    parts, links = _part_numbers(casman), _links(casman, "ANT00001P1", "ANT00002P1")
    damaged = _damage(casman.directory / db_name)
    broken = casman.fails("parts", "list")
    assert broken.stderr.count("\n") == 1
    out = casman.ok("sync", "restore").output
    assert f"{db_name} was damaged: set aside" in out
    (copy,) = (casman.directory / "safety").glob(f"{db_name}.*.damaged")
    assert copy.read_bytes() == damaged  # the damaged file, kept byte for byte
    assert _part_numbers(casman) == parts
    assert _links(casman, "ANT00001P1", "ANT00002P1") == links
    assert len(_moments(casman)) == 6  # every change is back, none invented


def test_repair_of_readable_databases_sets_nothing_aside(casman: Casman, remote: Path) -> None:
    _setup(casman)
    casman.ok("sync", "sync")
    before = fingerprint(casman.directory)
    out = casman.ok("sync", "restore").output
    assert "the local databases are readable" in out
    assert not (casman.directory / "safety").exists()
    assert fingerprint(casman.directory) == before


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["--at", "yesterday"], 2, "is not a time"),
        (["--at", "2001-01-01 00:00", "--output", "old"], 1, "no change is recorded at or before"),
        (["--output", "old"], 2, "--output needs --at"),
        (["backups/parts.db/20200101_000000_parts.db", "--at", "2001-01-01"], 2, "not both"),
    ],
)
def test_a_bad_restore_request_is_one_line_and_changes_nothing(
    casman: Casman, remote: Path, tmp_path: Path, args: list[str], code: int, expected: str
) -> None:
    _setup(casman)
    before = fingerprint(casman.directory)
    result = casman.fails("sync", "restore", *args, code=code)
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert fingerprint(casman.directory) == before
    assert not (tmp_path / "old").exists()
