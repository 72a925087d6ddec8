"""Replacing a database is safe against every other casman process (real subprocesses).

A scan session holds its connection for as long as the technician scans. A ``sync sync``
(from cron) or a ``restore`` that replaced the file under it would leave the session writing
into an unlinked file while it acknowledges every scan with ✓.
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
        return err


def _links(db: Path, store: Path) -> set[tuple[str, str]]:
    events = []
    for antenna in ("ANT00001P1", "ANT00002P1", "ANT00003P1"):
        out = run(db, store, "assembly", "history", antenna, "--json").stdout
        events += json.loads(out)
    return {(e["part_number"], e["connected_to"]) for e in events}


def test_a_scan_session_open_across_a_fast_forward_loses_no_scan(tmp_path: Path) -> None:
    store, site_a, site_b = tmp_path / "store", tmp_path / "a", tmp_path / "b"
    run(site_a, store, "parts", "add", "ANTENNA", "3", "1")
    run(site_a, store, "parts", "add", "LNA", "3", "1")
    run(site_a, store, "sync", "backup")
    run(site_b, store, "sync", "sync")
    session = ScanSession(site_b, store)
    # the other site publishes while B's technician has the scanner open
    run(site_a, store, "assembly", "connect", "ANT00002P1", "LNA00002P1")
    run(site_a, store, "sync", "backup")
    fast_forward = run(site_b, store, "sync", "sync", "--json").stdout
    assert any(r["downloaded"] for r in json.loads(fast_forward))
    acknowledged = [
        session.scan("ANT00001P1", "LNA00001P1"),
        session.scan("ANT00003P1", "LNA00003P1"),
    ]
    session.close()
    assert all(line.startswith("✓") for line in acknowledged), acknowledged
    assert _links(site_b, store) == {
        ("ANT00001P1", "LNA00001P1"),
        ("ANT00002P1", "LNA00002P1"),
        ("ANT00003P1", "LNA00003P1"),
    }


def test_a_scan_session_open_across_a_restore_writes_into_the_restored_database(
    tmp_path: Path,
) -> None:
    store, site = tmp_path / "store", tmp_path / "site"
    run(site, store, "parts", "add", "ANTENNA", "3", "1")
    run(site, store, "parts", "add", "LNA", "3", "1")
    run(site, store, "assembly", "connect", "ANT00002P1", "LNA00002P1")
    run(site, store, "sync", "backup")
    listing = json.loads(run(site, store, "sync", "list", "--json").stdout)
    key = next(b["key"] for b in listing if b["database"] == "assembled_casm.db")
    session = ScanSession(site, store)
    first = session.scan("ANT00001P1", "LNA00001P1")
    run(site, store, "sync", "restore", key, "--no-backup")
    second = session.scan("ANT00003P1", "LNA00003P1")
    session.close()
    assert first.startswith("✓") and second.startswith("✓")
    # the restore went back to the backup (without the first scan, which is in the safety
    # copy); the scan acknowledged after it is in the live database
    assert _links(site, store) == {("ANT00002P1", "LNA00002P1"), ("ANT00003P1", "LNA00003P1")}
    copies = list((site / "safety").glob("assembled_casm.db.*"))
    assert copies
