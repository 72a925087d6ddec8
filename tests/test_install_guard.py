"""The install guard: a write between the safety copy and the install is never lost."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from casman.db.connection import open_databases
from casman.db.parts import add_parts
from casman.domain.parts import PartType
from casman.sync.install import DatabaseChangedError, install, safety_copy, unchanged_since
from casman.sync.snapshot import take_snapshot


def _count(directory: Path) -> int:
    conn = sqlite3.connect(directory / "parts.db")
    try:
        return int(conn.execute("SELECT COUNT(*) FROM parts").fetchone()[0])
    finally:
        conn.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    directory = tmp_path / "db"
    conn = open_databases(directory)
    add_parts(conn, PartType.ANTENNA, 3, "P1")
    conn.close()
    return directory


def _candidate(site: Path, tmp_path: Path) -> Path:
    candidate = tmp_path / "candidate.db"
    take_snapshot(site / "parts.db", candidate)
    return candidate


def test_a_write_after_the_safety_copy_aborts_the_install(site: Path, tmp_path: Path) -> None:
    candidate = _candidate(site, tmp_path)
    time.sleep(0.1)
    kept = safety_copy(site, "parts.db", "20260101_000000", "before-restore")
    writer = open_databases(site)  # a scan lands now
    add_parts(writer, PartType.LNA, 1, "P1")
    with pytest.raises(DatabaseChangedError):
        install(candidate, site, "parts.db", unchanged_since(kept, site / "parts.db", "parts.db"))
    writer.close()
    assert _count(site) == 4  # the scan is still there


def test_nothing_written_installs_without_reading_rows(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidate = _candidate(site, tmp_path)
    holder = open_databases(site)  # keeps the WAL in place, as a scan session does
    time.sleep(0.1)
    kept = safety_copy(site, "parts.db", "20260101_000000", "before-restore")

    def no_rows(*_: object) -> str:
        raise AssertionError("the guard read every row although nothing was written")

    monkeypatch.setattr("casman.sync.install.content_fingerprint", no_rows)
    install(candidate, site, "parts.db", unchanged_since(kept, site / "parts.db", "parts.db"))
    holder.close()
    assert _count(site) == 3
