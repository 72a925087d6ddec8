"""Changes that arrive under an open scan session lose no scan (real subprocesses).

A scan session holds its connection for as long as the technician scans. A ``sync sync``
(from cron, or the background publisher) that installs other sites' records, or a
``restore --at --yes`` that goes back, writes the tables under it: every scan acknowledged
with ✓ before, between and after must stay in the databases and reach the other sites.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.test_real_processes import _casman_exe

pytestmark = pytest.mark.slow


def _env(db: Path, store: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CASMAN_DATABASE_DIR": str(db),
        "CASMAN_LOCAL_PATH": str(store),
        "CASMAN_SYNC_BACKEND": "local",
        "CASMAN_AUTO_BACKUP": "false",
        "HOME": str(db.parent / "home"),
    }


def run(db: Path, store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*_casman_exe(), *args], capture_output=True, text=True, env=_env(db, store), timeout=120
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


class ScanSession:
    """``casman scan connection`` fed through a pipe, one pair at a time."""

    def __init__(self, db: Path, store: Path) -> None:
        self.process = subprocess.Popen(
            [*_casman_exe(), "scan", "connection"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(db, store),
        )

    def scan(self, source: str, target: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{source}\n{target}\n")
        self.process.stdin.flush()
        return self.process.stdout.readline()

    def close(self) -> str:
        _, err = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, err
        return err


ANTENNAS = ("ANT00001P1", "ANT00002P1", "ANT00003P1")


def _links(db: Path, store: Path) -> set[tuple[str, str]]:
    """The links standing now: the newest event of each pair is a connect."""
    newest: dict[tuple[str, str], str] = {}
    for antenna in ANTENNAS:
        for event in json.loads(run(db, store, "assembly", "history", antenna, "--json").stdout):
            newest[(event["part_number"], event["connected_to"])] = event["connection_status"]
    return {pair for pair, status in newest.items() if status == "connected"}


def test_a_scan_session_open_across_a_sync_that_installs_other_sites_records_loses_no_scan(
    tmp_path: Path,
) -> None:
    store, site_a, site_b = tmp_path / "store", tmp_path / "a", tmp_path / "b"
    run(site_a, store, "parts", "add", "ANTENNA", "3", "1")
    run(site_a, store, "parts", "add", "LNA", "3", "1")
    run(site_a, store, "sync", "sync")
    run(site_b, store, "sync", "sync")
    session = ScanSession(site_b, store)
    first = session.scan("ANT00001P1", "LNA00001P1")
    # the other site publishes while B's technician has the scanner open
    run(site_a, store, "assembly", "connect", "ANT00002P1", "LNA00002P1")
    run(site_a, store, "sync", "sync")
    synced = json.loads(run(site_b, store, "sync", "sync", "--json").stdout)
    assert synced["received"] == 1 and "assembly" in synced["changed_tables"]
    second = session.scan("ANT00003P1", "LNA00003P1")
    session.close()
    assert first.startswith("✓") and second.startswith("✓"), (first, second)
    every = {
        ("ANT00001P1", "LNA00001P1"),
        ("ANT00002P1", "LNA00002P1"),
        ("ANT00003P1", "LNA00003P1"),
    }
    assert _links(site_b, store) == every
    # both of B's scans are changes of their own: they reach site A
    run(site_b, store, "sync", "sync")
    run(site_a, store, "sync", "sync")
    assert _links(site_a, store) == every


def test_a_scan_session_open_across_going_back_keeps_the_scans_after_it(
    tmp_path: Path,
) -> None:
    store, site = tmp_path / "store", tmp_path / "site"
    run(site, store, "parts", "add", "ANTENNA", "3", "1")
    run(site, store, "parts", "add", "LNA", "3", "1")
    run(site, store, "assembly", "connect", "ANT00002P1", "LNA00002P1")
    run(site, store, "sync", "sync")
    times = json.loads(run(site, store, "sync", "restore", "--list-times", "--json").stdout)
    moment = times[-1]["at"]  # the array with only ANT2's link
    session = ScanSession(site, store)
    first = session.scan("ANT00001P1", "LNA00001P1")
    run(site, store, "sync", "restore", "--at", moment, "--yes")
    second = session.scan("ANT00003P1", "LNA00003P1")
    session.close()
    assert first.startswith("✓") and second.startswith("✓"), (first, second)
    # going back undid the first scan as a change of its own (its events stay in the
    # history); the scan acknowledged after it stands
    assert _links(site, store) == {("ANT00002P1", "LNA00002P1"), ("ANT00003P1", "LNA00003P1")}
    history = json.loads(run(site, store, "assembly", "history", "ANT00001P1", "--json").stdout)
    assert [e["connection_status"] for e in history] == ["connected", "disconnected"]
    listed = run(site, store, "sync", "restore", "--list-times", "--json").stdout
    assert [m["kind"] for m in json.loads(listed)][-3:] == ["connect", "revert", "connect"]
