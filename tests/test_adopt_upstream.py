"""Adopting a real installation of the original CAsMan (tests/fixtures/upstream, see its README).

Reading commands work on the pair as it is and change no byte; ``casman database migrate``
(or the first write) converts it after byte-exact safety copies; afterwards every row is
there with its id, the chains are the nine links the old tool's own rule gives, backups of
the files pass casman's check, and ``parts add`` and ``assembly connect`` work.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from casman.db.schema_check import check_candidate
from tests.conftest import REPO_ROOT, Casman

UPSTREAM = REPO_ROOT / "tests" / "fixtures" / "upstream"
NAMES = ("parts.db", "assembled_casm.db")
SHA256 = {  # from the fixture's README: the files exactly as upstream committed them
    "parts.db": "74f9be0c0c8eaff38b78058f568978ffded7f30db5c132bdbcf652f59db14a94",
    "assembled_casm.db": "0dbed476b7ac0cff11fb8af4f69119f52ac3a75c8db56d9b95a3ca82facae779",
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def upstream(db_dir: Path) -> Path:
    """A copy of the upstream pair as the database directory (read-only originals kept)."""
    db_dir.mkdir()
    for name in NAMES:
        shutil.copy(UPSTREAM / name, db_dir / name)
    return db_dir


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
    finally:
        conn.close()


def upstream_live_links(path: Path) -> set[frozenset[str]]:
    """The old tool's rule, written out here from its description: for each pair of parts,
    the latest row (by scan_time, then id) decides, whichever part is in part_number."""
    latest: dict[frozenset[str], tuple[str, int, str]] = {}
    for row in rows(path, "assembly"):
        pair = frozenset((str(row[1]), str(row[5])))
        key = (str(row[4]), int(str(row[0])), str(row[9]))
        if pair not in latest or key[:2] > latest[pair][:2]:
            latest[pair] = key
    return {pair for pair, (_, _, status) in latest.items() if status == "connected"}


def shown_links(casman: Casman) -> set[frozenset[str]]:
    chains = json.loads(casman.ok("assembly", "chains", "--json").stdout)
    return {
        frozenset(link)
        for chain in chains
        for link in zip(chain["parts"], chain["parts"][1:], strict=False)
    }


def test_the_fixture_is_the_upstream_pair() -> None:
    assert {name: sha256(UPSTREAM / name) for name in NAMES} == SHA256
    assert len(upstream_live_links(UPSTREAM / "assembled_casm.db")) == 9


def test_reading_commands_work_on_the_pair_as_it_is(casman: Casman, upstream: Path) -> None:
    listed = json.loads(casman.ok("parts", "list", "--json").stdout)
    assert len(listed) == 25
    assert {part["polarization"] for part in listed} == {"P1"}
    p1 = casman.ok("parts", "list", "--polarization", "1", "--json").stdout
    assert len(json.loads(p1)) == 25
    assert shown_links(casman) == upstream_live_links(UPSTREAM / "assembled_casm.db")
    result = casman.ok("assembly", "history", "ANT00001P1")
    assert "older CAsMan databases" in result.stderr
    assert {name: sha256(upstream / name) for name in NAMES} == SHA256
    assert sorted(p.name for p in upstream.iterdir()) == sorted(NAMES)


def test_dry_run_lists_the_rules_with_counts_and_changes_nothing(
    casman: Casman, upstream: Path
) -> None:
    out = casman.ok("database", "migrate", "--dry-run", "--timezone", "America/New_York").stdout
    assert "times without a zone read in America/New_York" in out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert any(line.startswith("polarization-from-number parts.polarization 25") for line in lines)
    assert any(line.startswith("local-time assembly.scan_time 14") for line in lines)
    assert any(line.startswith("table-layout assembly 1") for line in lines)
    assert any(line.startswith("missing-table snap_boards") for line in lines)
    assert any(line.startswith("repeated-connect assembly 1") for line in lines)
    assert "Rows: parts 25 → 25, assembly 14 → 14 (none dropped)" in out
    assert {name: sha256(upstream / name) for name in NAMES} == SHA256
    assert sorted(p.name for p in upstream.iterdir()) == sorted(NAMES)


def test_migrate_keeps_every_row_and_maps_by_rule(casman: Casman, upstream: Path) -> None:
    before = {
        "parts.db": rows(UPSTREAM / "parts.db", "parts"),
        "assembled_casm.db": rows(UPSTREAM / "assembled_casm.db", "assembly"),
    }
    casman.ok("database", "migrate", "--timezone", "America/New_York")
    (folder,) = (upstream / "safety").iterdir()
    assert {name: sha256(folder / name) for name in NAMES} == SHA256
    parts = rows(upstream / "parts.db", "parts")
    assert [row[0] for row in parts] == [row[0] for row in before["parts.db"]]
    for old, new in zip(before["parts.db"], parts, strict=True):
        assert new[1:3] == old[1:3] and new[3] == "P1"
        assert new[4] == "2025-11-17T21:01:55Z"  # 16:01:55 at UTC−05:00
    assembly = rows(upstream / "assembled_casm.db", "assembly")
    assert [row[0] for row in assembly] == list(range(1, 15))
    for old, new in zip(before["assembled_casm.db"], assembly, strict=True):
        assert (new[1], new[5], new[9]) == (old[1], old[5], old[9])
        assert new[3] == new[7] == "P1"
    assert assembly[0][4] == "2025-11-17T21:02:30Z" and assembly[0][8] == "2025-11-17T21:02:33Z"
    assert assembly[13][4] == "2025-11-17T23:23:51Z"
    # a backup of each file now passes casman's own check (it counts the rows)
    assert check_candidate(upstream / "parts.db", "parts.db") == 25
    assert check_candidate(upstream / "assembled_casm.db", "assembled_casm.db") == 14
    assert shown_links(casman) == upstream_live_links(UPSTREAM / "assembled_casm.db")
    again = casman.ok("database", "migrate").stdout
    assert "nothing to adopt" in again


def test_first_write_adopts_and_parts_add_and_connect_work(casman: Casman, upstream: Path) -> None:
    added = casman.ok("parts", "add", "ANTENNA", "1", "1")
    assert "ANT00006P1" in added.stdout
    assert "Adopted the older CAsMan databases" in added.stderr
    assert len(list((upstream / "safety").iterdir())) == 1
    casman.ok("parts", "add", "LNA", "1", "1")
    casman.ok("assembly", "connect", "ANT00006P1", "LNA00006P1")
    # the old tool's disconnection is honoured: ANT00001P1 and LNA00001P1 are free again
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    refused = casman.fails("assembly", "connect", "LNA00001P1", "CXS00002P1")
    assert "already connected to CXS00001P1" in refused.stderr
    expected = upstream_live_links(UPSTREAM / "assembled_casm.db") | {
        frozenset(("ANT00006P1", "LNA00006P1")),
        frozenset(("ANT00001P1", "LNA00001P1")),
    }
    assert shown_links(casman) == expected


def test_times_default_to_this_machines_zone(
    casman: Casman, upstream: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    out = casman.ok("database", "migrate").stdout
    assert "read in Asia/Kolkata" in out
    assert rows(upstream / "parts.db", "parts")[0][4] == "2025-11-17T10:31:55Z"


def test_a_bad_timezone_is_one_line_and_changes_nothing(casman: Casman, upstream: Path) -> None:
    result = casman.fails("database", "migrate", "--timezone", "Mars/Olympus", code=2)
    assert "unknown time zone 'Mars/Olympus'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert {name: sha256(upstream / name) for name in NAMES} == SHA256


def test_the_read_only_api_reads_the_pair_adopted(upstream: Path) -> None:
    from casman.db.assembly import active_links
    from casman.db.readonly import open_read_only

    conn = open_read_only(upstream)
    try:
        links = active_links(conn)
        polarizations = {row[0] for row in conn.execute("SELECT polarization FROM parts")}
    finally:
        conn.close()
    assert {frozenset(item) for item in links.forward.items()} == upstream_live_links(
        UPSTREAM / "assembled_casm.db"
    )
    assert polarizations == {"P1"}
    assert {name: sha256(upstream / name) for name in NAMES} == SHA256


def test_two_first_writes_at_once_adopt_once_and_lose_nothing(upstream: Path) -> None:
    """Two technicians' first commands start together: one adopts (one safety copy), the
    other waits on the lock, finds the files adopted, and both parts are there."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "CASMAN_DATABASE_DIR": str(upstream), "TZ": "America/New_York"}
    command = [sys.executable, "-m", "casman", "parts", "add", "ANTENNA", "1", "1", "--json"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)]
    runs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], results
    added = sorted(number for out, _ in results for number in json.loads(out)["created"])
    assert added == ["ANT00006P1", "ANT00007P1"]
    assert len(list((upstream / "safety").iterdir())) == 1
    assert sum(b"Adopted the older CAsMan databases" in err for _, err in results) == 1
    assert len(rows(upstream / "parts.db", "parts")) == 27
