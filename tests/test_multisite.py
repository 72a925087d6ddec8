"""Several sites, one truth: sites that work offline converge without losing anything.

Each site is its own database directory; all share one store (a ``local`` directory, or a
bucket on the moto server). Sites run the real CLI; the race uses real processes.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from casman.cli import cli
from casman.db.connection import open_databases
from casman.db.fingerprint import content_fingerprint
from tests.test_real_processes import _casman_exe


@dataclass
class Site:
    directory: Path
    env: dict[str, str]

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env, catch_exceptions=False)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, (args, result.output, result.stderr)
        return result

    def fingerprints(self) -> tuple[str, str]:
        conn = open_databases(self.directory)
        try:
            return (
                content_fingerprint(conn, "parts.db"),
                content_fingerprint(conn, "assembled_casm.db", "asm"),
            )
        finally:
            conn.close()

    def parts(self) -> set[str]:
        return {p["part_number"] for p in json.loads(self.ok("parts", "list", "--json").stdout)}

    def events(self, part: str) -> list[tuple[str, str, str]]:
        history = json.loads(self.ok("assembly", "history", part, "--json").stdout)
        return [(e["part_number"], e["connected_to"], e["connection_status"]) for e in history]


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASMAN_CONFIG", raising=False)
    return {
        "CASMAN_LOCAL_PATH": str(tmp_path / "store"),
        "CASMAN_SYNC_BACKEND": "local",
        "CASMAN_AUTO_BACKUP": "false",
        "HOME": str(tmp_path / "home"),
    }


@pytest.fixture
def sites(tmp_path: Path, store_env: dict[str, str]) -> Iterator[list[Site]]:
    yield [
        Site(tmp_path / name, {**store_env, "CASMAN_DATABASE_DIR": str(tmp_path / name)})
        for name in ("a", "b", "c")
    ]


def test_a_site_that_never_synced_cannot_hide_another_sites_part(sites: list[Site]) -> None:
    """The issue's first scenario: B's backup used to become the newest and drop A's part."""
    a, b, _ = sites
    a.ok("parts", "add", "ANTENNA", "1", "1")
    a.ok("sync", "backup")
    b.ok("parts", "add", "LNA", "1", "1")
    b.ok("sync", "backup")
    a.ok("sync", "sync")
    b.ok("sync", "sync")
    assert a.parts() == b.parts() == {"ANT00001P1", "LNA00001P1"}
    assert a.fingerprints() == b.fingerprints()


def test_two_diverged_sites_end_identical_with_a_clash_reported(sites: list[Site]) -> None:
    a, b, _ = sites
    for part_type in ("ANTENNA", "LNA", "COAXSHORT"):
        a.ok("parts", "add", part_type, "2", "1")
    a.ok("sync", "sync")
    b.ok("sync", "sync")
    assert b.parts() == a.parts()
    # offline work on both sites
    a.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    a.ok("assembly", "connect", "LNA00001P1", "CXS00001P1")
    a.ok("parts", "add", "COAXLONG", "1", "1")
    a.ok("antenna", "assign", "ANT00001", "CN001E01")
    b.ok("assembly", "connect", "ANT00002P1", "LNA00002P1")
    b.ok("assembly", "connect", "LNA00001P1", "CXS00002P1")  # the same LNA, another coax
    b.ok("parts", "add", "BACBOARD", "1", "1")
    b.ok("antenna", "assign", "ANT00002", "CN001E02")
    a.ok("sync", "sync")
    merged = json.loads(b.ok("sync", "sync", "--json").stdout)
    a.ok("sync", "sync")
    assert a.fingerprints() == b.fingerprints()
    assert {"CXL00001P1", "BAC00001P1"} <= a.parts()
    conflicts = [c for r in merged for c in r["conflicts"]]
    assert any("LNA00001P1" in c["key"] + c["kept"] + c["other"] for c in conflicts), merged
    # both clashing events are kept in the log; a technician resolves with a disconnect
    events = a.events("LNA00001P1")
    assert ("LNA00001P1", "CXS00001P1", "connected") in events
    assert ("LNA00001P1", "CXS00002P1", "connected") in events
    positions = json.loads(a.ok("antenna", "list", "--json").stdout)
    assert {p["grid_code"] for p in positions} >= {"CN001E01", "CN001E02"}
    status = a.ok("sync", "status").output
    assert "Conflicts found by merges" in status and "LNA00001P1" in status
    # the web home page shows the same state (read from local files only)
    from casman.web.app import create_app

    client = create_app(a.directory).test_client()
    assert b"conflict-banner" in client.get("/", headers={"Host": "localhost"}).data
    # an ordinary disconnect resolves it
    a.ok("assembly", "disconnect", "LNA00001P1", "CXS00002P1")
    assert "Conflicts found by merges" not in a.ok("sync", "status").output
    assert b"conflict-banner" not in client.get("/", headers={"Host": "localhost"}).data


def test_three_sites_working_in_turns_converge(sites: list[Site]) -> None:
    a, b, c = sites
    for site, part_type in zip(sites, ("ANTENNA", "LNA", "COAXSHORT"), strict=True):
        site.ok("parts", "add", part_type, "2", "2")
    for _ in range(2):
        for site in sites:
            site.ok("sync", "sync")
    assert a.fingerprints() == b.fingerprints() == c.fingerprints()
    assert {"ANT00002P2", "LNA00002P2", "CXS00002P2"} <= c.parts()


def test_a_no_op_sync_sends_no_list_and_one_get_per_database(
    sites: list[Site], capfd: pytest.CaptureFixture[str]
) -> None:
    a, _, _ = sites
    a.ok("parts", "add", "ANTENNA", "1", "1")
    a.ok("sync", "sync")
    traced = dict(a.env, CASMAN_TRACE_PLUGINS="1")
    done = subprocess.run(
        [*_casman_exe(), "sync", "sync"],
        env={**os.environ, **traced},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    ops = [line for line in done.stderr.splitlines() if line.startswith("casman trace:")]
    assert not any("op=list" in line for line in ops), ops
    assert not any(" op=put" in line or " op=delete" in line for line in ops), ops
    gets = [line for line in ops if "op=get" in line]
    assert len(gets) <= 2 and len(ops) == len(gets), ops


def test_dry_run_says_what_it_would_do_and_writes_nothing(sites: list[Site]) -> None:
    a, b, _ = sites
    a.ok("parts", "add", "ANTENNA", "1", "1")
    a.ok("sync", "sync")
    b.ok("parts", "add", "LNA", "1", "1")
    before = b.fingerprints()
    out = json.loads(b.ok("sync", "sync", "--dry-run", "--json").stdout)
    assert out[0]["action"].startswith("would merge")
    assert b.fingerprints() == before
    assert "ANT00001P1" not in b.parts()


@pytest.mark.slow
def test_two_sites_publishing_at_once_lose_no_version(tmp_path: Path) -> None:
    for round_number in range(4):
        store = tmp_path / f"store{round_number}"
        dirs = [tmp_path / f"r{round_number}{name}" for name in "ab"]
        envs = [
            {
                **os.environ,
                "CASMAN_DATABASE_DIR": str(d),
                "CASMAN_LOCAL_PATH": str(store),
                "CASMAN_SYNC_BACKEND": "local",
                "HOME": str(tmp_path / "home"),
            }
            for d in dirs
        ]
        for env, part_type in zip(envs, ("ANTENNA", "LNA"), strict=True):
            subprocess.run(
                [*_casman_exe(), "parts", "add", part_type, "3", "1"],
                env=env,
                check=True,
                capture_output=True,
            )
        racers = [
            subprocess.Popen(
                [*_casman_exe(), "sync", "sync", "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for env in envs
        ]
        outcomes = [racer.communicate(timeout=120) for racer in racers]
        assert all(r.returncode == 0 for r in racers), outcomes
        for env in envs:
            subprocess.run(
                [*_casman_exe(), "sync", "sync"], env=env, check=True, capture_output=True
            )
        listed = [
            {
                p["part_number"]
                for p in json.loads(
                    subprocess.run(
                        [*_casman_exe(), "parts", "list", "--json"],
                        env=env,
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout
                )
            }
            for env in envs
        ]
        assert listed[0] == listed[1]
        assert {"ANT00003P1", "LNA00003P1"} <= listed[0]
