"""Databases that follow the backend: a consumer of ``casman.open_array()`` and a site.

Real stores only: one ``local`` backend directory (``CASMAN_LOCAL_PATH``), a site that
works and publishes with the real CLI (``casman sync backup``), and consumers that open
the array in this process or in a subprocess. The TTL is one second, as in issue #14.

Time is the consumers' injected clock (``open_array(clock=...)``), never the machine's: a
test moves it past the TTL instead of sleeping, and "still within the TTL" holds however
slowly a busy machine runs the site's commands in between.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from casman.array import CasmanSyncWarning, FollowReport, open_array
from casman.array import follow as follow_module
from casman.cli import cli
from casman.db.connection import DatabaseFileError
from tests.conftest import GRID_CSV, REPO_ROOT, SNAP_CSV

CHAIN = ("ANT", "LNA", "CXS", "CXL", "BAC")
TYPES = ("ANTENNA", "LNA", "COAXSHORT", "COAXLONG", "BACBOARD")


@dataclass
class Site:
    """A site with its own database directory, driven through the CLI."""

    directory: Path
    env: dict[str, str]

    def ok(self, *args: str) -> Result:
        result = CliRunner().invoke(cli, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.output, result.stderr)
        return result

    def wire(self, number: int, snap_port: str, grid_code: str) -> None:
        """ANT..BAC number ``number`` P1 → ``snap_port``, antenna at ``grid_code``."""
        parts = [f"{prefix}{number:05d}P1" for prefix in CHAIN] + [snap_port]
        for source, target in itertools.pairwise(parts):
            self.ok("assembly", "connect", source, target)
        self.ok("antenna", "assign", f"ANT{number:05d}", grid_code)

    def publish(self) -> None:
        self.ok("sync", "backup")


class Clock:
    """A settable clock for ``open_array(clock=...)``: it moves only when told to."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


PAST_THE_TTL = 2.0
"""Seconds a clock is moved to be past the one-second TTL of these tests."""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """A store, a cache home and a consumer's working directory with no ./database."""
    paths = {
        "store": tmp_path / "store",
        "cache": tmp_path / "cache",
        "home": tmp_path / "home",
        "consumer": tmp_path / "consumer",
    }
    paths["consumer"].mkdir()
    for name in ("CASMAN_DATABASE_DIR", "CASMAN_CONFIG", "CASMAN_AUTO_SYNC_ON_INSTALL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(paths["store"]))
    monkeypatch.setenv("CASMAN_SYNC_BACKEND", "local")
    monkeypatch.setenv("CASMAN_AUTO_BACKUP", "false")
    monkeypatch.setenv("HOME", str(paths["home"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(paths["cache"]))
    monkeypatch.chdir(paths["consumer"])
    monkeypatch.setattr(follow_module, "_warned", set())
    yield paths


@pytest.fixture
def site(tmp_path: Path, world: dict[str, Path]) -> Site:
    directory = tmp_path / "site"
    env = {
        "CASMAN_DATABASE_DIR": str(directory),
        "CASMAN_LOCAL_PATH": str(world["store"]),
        "CASMAN_SYNC_BACKEND": "local",
        "HOME": str(world["home"]),
        "CASMAN_CONFIG": "",
        # no detached uploader: this site publishes when the test says so
        "CASMAN_AUTO_BACKUP": "false",
    }
    made = Site(directory, env)
    for part_type in TYPES:
        made.ok("parts", "add", part_type, "3", "1")
    made.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV))
    made.ok("database", "load-coordinates", "--csv", str(GRID_CSV))
    made.wire(1, "SNAP1A05", "CN002E03")
    made.publish()
    return made


def _follow_config(world: dict[str, Path], ttl: int = 1) -> Path:
    config = world["consumer"] / "config.yaml"
    config.write_text(
        f"database:\n  sync:\n    auto_sync_on_import: true\n    cache_ttl_seconds: {ttl}\n"
    )
    return config


def _cache(world: dict[str, Path]) -> Path:
    return world["cache"] / "casman" / "databases"


def _store_files(world: dict[str, Path]) -> dict[str, bytes]:
    """Every object of the store, byte for byte (the backend's own lock file aside)."""
    store = world["store"]
    if not store.exists():
        return {}
    return {
        str(path.relative_to(store)): path.read_bytes()
        for path in store.rglob("*")
        if path.is_file() and not path.name.startswith(".")
    }


def test_consumer_sees_a_new_version_after_the_ttl(
    world: dict[str, Path], site: Site, clock: Clock
) -> None:
    _follow_config(world)
    first = open_array(clock=clock)
    assert first.database_dir == _cache(world)  # no directory of its own: the cache
    assert isinstance(first.sync, FollowReport) and first.sync.checked and first.sync.ok
    assert "received" in first.sync.actions["parts.db"]
    assert str(first.by_packet_index(5)).startswith("ANT00001 at CN002E03, P1, SNAP1A port 5")
    stamp = json.loads((_cache(world) / follow_module.STAMP_FILE).read_text())
    assert stamp["ok"] is True and stamp["checked_at"].endswith("Z")

    site.wire(2, "SNAP1B03", "CN002E04")  # SNAP1B is feng 6: packet index 75
    site.publish()
    clock.advance(0.5)
    within_ttl = open_array(clock=clock)
    assert within_ttl.sync is not None and not within_ttl.sync.checked
    assert "ANT00002" not in {a.number for a in within_ttl if a.grid_code}
    with pytest.raises(LookupError):
        within_ttl.at("CN002E04")

    clock.advance(PAST_THE_TTL)
    after_ttl = open_array(clock=clock)
    assert after_ttl.sync is not None and after_ttl.sync.checked
    port = after_ttl.by_packet_index(75)
    assert port.antenna is not None and port.antenna.number == "ANT00002"
    assert after_ttl.at("CN002E04").kernel_index == 117


def test_backend_down_opens_the_local_copy_and_warns_once(
    world: dict[str, Path],
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    clock: Clock,
) -> None:
    _follow_config(world)
    open_array(clock=clock)  # the cache now holds the site's first version
    site.wire(2, "SNAP1B03", "CN002E04")
    site.publish()
    blocked = world["home"] / "not-a-directory"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("the NAS is unmounted\n")
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(blocked))
    clock.advance(PAST_THE_TTL)
    with pytest.warns(CasmanSyncWarning, match="could not follow the backend") as caught:
        offline = open_array(clock=clock)
    assert len(caught) == 1
    assert offline.sync is not None and offline.sync.error is not None
    assert "not a directory" in offline.sync.error.lower()
    assert offline.antenna("ANT00001").grid_code == "CN002E03"  # the local copy
    assert offline.antenna("ANT00002").grid_code is None  # the site's newer work is not here
    clock.advance(PAST_THE_TTL)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        still = open_array(clock=clock)
    assert [w for w in again if issubclass(w.category, CasmanSyncWarning)] == []
    assert still.sync is not None and still.sync.error is not None
    assert capfd.readouterr() == ("", "")  # the library prints nothing

    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(world["store"]))
    clock.advance(PAST_THE_TTL)
    assert open_array(clock=clock).antenna("ANT00002").grid_code == "CN002E04"


def test_no_local_copy_and_backend_down_is_one_clear_error(
    world: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _follow_config(world)
    blocked = world["home"] / "not-a-directory"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("x")
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(blocked))
    with (
        pytest.warns(CasmanSyncWarning),
        pytest.raises(DatabaseFileError, match=r"no local copy .* could not be reached"),
    ):
        open_array(config=str(world["consumer"] / "config.yaml"))
    assert not (_cache(world) / "parts.db").exists()


def test_an_empty_store_is_said_so_and_a_consumer_writes_nothing(world: dict[str, Path]) -> None:
    _follow_config(world)
    world["store"].mkdir()
    with pytest.raises(DatabaseFileError, match="no published version"):
        open_array()
    assert _store_files(world) == {}  # a consumer never founds the store's array
    assert not (_cache(world) / "parts.db").exists()


def test_a_database_with_local_changes_receives_and_never_publishes(
    tmp_path: Path,
    world: dict[str, Path],
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
) -> None:
    """A site's own directory with auto-sync: the other sites' changes are received (a
    union: its own work stays), and nothing of its own is published by following."""
    own = Site(tmp_path / "field", {**site.env, "CASMAN_DATABASE_DIR": str(tmp_path / "field")})
    _follow_config(world)
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(own.directory))
    assert open_array(clock=clock).database_dir == own.directory  # its own directory, not the cache
    own.ok("parts", "add", "ANTENNA", "1", "1")  # local work at the field site
    site.wire(2, "SNAP1B03", "CN002E04")
    site.publish()
    store_before = _store_files(world)
    clock.advance(PAST_THE_TTL)
    array = open_array(clock=clock)
    assert array.sync is not None and array.sync.checked and array.sync.ok
    assert "received" in array.sync.actions["parts.db"]
    assert "ANT00004" in array  # the local part is still there
    assert array.antenna("ANT00002").grid_code == "CN002E04"  # the other site's work too
    assert _store_files(world) == store_before  # nothing published, nothing written
    pending = json.loads(own.ok("sync", "status", "--json").output)["automatic"]
    assert pending["pending_changes"] == 1  # the local part still waits to go off-site


@pytest.mark.slow
def test_consumer_processes_follow_another_sites_publication(
    world: dict[str, Path], site: Site
) -> None:
    """Separate consumer processes, switched on by ``CASMAN_AUTO_SYNC_ON_INSTALL=true``."""
    ttl_only = world["home"] / "ttl.yaml"
    ttl_only.parent.mkdir(parents=True, exist_ok=True)
    ttl_only.write_text("database:\n  sync:\n    cache_ttl_seconds: 1\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "HOME": str(world["home"]),
        "XDG_CACHE_HOME": str(world["cache"]),
        "CASMAN_LOCAL_PATH": str(world["store"]),
        "CASMAN_AUTO_SYNC_ON_INSTALL": "true",
        "CASMAN_CONFIG": str(ttl_only),
    }
    code = (  # each consumer's clock stands at the time given as its argument
        "import sys\n"
        "from datetime import datetime\n"
        "import casman\n"
        "at = datetime.fromisoformat(sys.argv[1])\n"
        "a = casman.open_array(clock=lambda: at)\n"
        "print(a.by_packet_index(5)); print(a.sync.checked)\n"
        "print(a.by_packet_index(75).antenna)\n"
    )
    start = datetime.now(UTC)

    def consumer(environ: dict[str, str], seconds_later: float) -> list[str]:
        at = start + timedelta(seconds=seconds_later)
        done = subprocess.run(
            [sys.executable, "-c", code, at.isoformat()],
            env=environ,
            cwd=world["consumer"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""  # nothing printed by the library
        return done.stdout.splitlines()

    first = consumer(env, 0)
    assert first[0].startswith("ANT00001 at CN002E03, P1, SNAP1A port 5")
    assert first[1:] == ["True", "None"]  # fetched; nothing on SNAP1B03 yet
    site.wire(2, "SNAP1B03", "CN002E04")
    site.publish()
    within = consumer(env, 0.5)
    assert within[1:] == ["False", "None"]  # the other process's check still holds
    second = consumer(env, PAST_THE_TTL)
    assert second[1] == "True" and second[2].startswith("ANT00002 at CN002E04")
    default_env = {k: v for k, v in env.items() if k != "CASMAN_CONFIG"}
    default_ttl = consumer(default_env, PAST_THE_TTL + 600)
    assert default_ttl[1] == "False"  # within the default hour: no request


def test_sync_disabled_means_no_request_and_no_cache(
    world: dict[str, Path], site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    _follow_config(world)
    monkeypatch.setenv("CASMAN_SYNC_ENABLED", "false")
    with pytest.raises(DatabaseFileError):
        open_array()
    assert not world["cache"].exists()


def test_explicit_auto_sync_false_reads_only(world: dict[str, Path], site: Site) -> None:
    _follow_config(world)
    array = open_array(site.directory, auto_sync=False)
    assert array.sync is None
    assert not world["cache"].exists()
