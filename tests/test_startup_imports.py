"""Reading commands start light: nothing of the sync engine, the storage plugins or file
locks is imported, and the stale-copy warning still appears when it is due."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Casman

pytestmark = pytest.mark.slow

HEAVY = ("casman.sync", "casman.storage", "filelock", "pluggy", "boto3", "fsspec", "flask")
_PROBE = """
import sys
from casman.cli import main
try:
    main(sys.argv[1:])
except SystemExit as done:
    assert not done.code, done.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {"filelock", "pluggy", "boto3",
    "fsspec", "flask"} or m.startswith(("casman.sync", "casman.storage")))
sys.stderr.write("HEAVY " + " ".join(heavy) + "\\n")
"""


def heavy_imports(*args: str) -> list[str]:
    """What ``casman ARGS`` imported of :data:`HEAVY`, run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("HEAVY"))
    return line.split()[1:]


@pytest.fixture
def built(casman: Casman) -> Casman:
    from tests.web_testdata import build_web_database

    build_web_database(casman.directory)
    return casman


@pytest.mark.parametrize(
    "command",
    [
        ("parts", "list"),
        ("antenna", "list"),
        ("antenna", "show", "ANT00001"),
        ("assembly", "chains"),
        ("assembly", "chain", "ANT00001P1"),
        ("snap", "show", "SNAP1A"),
        ("snap", "list"),
        ("database", "print", "--table", "snap_boards"),
    ],
    ids=" ".join,
)
def test_reading_commands_import_no_sync_storage_or_locks(
    built: Casman, command: tuple[str, ...]
) -> None:
    assert heavy_imports(*command) == []


def test_with_sync_enabled_and_nothing_waiting_still_nothing_heavy(
    casman: Casman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a sync published everything, the stale check needs neither sync nor storage."""
    monkeypatch.setenv("CASMAN_SYNC_BACKEND", "local")
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "store"))
    casman.ok("parts", "add", "ANTENNA", "3", "1")
    casman.ok("sync", "sync")
    assert heavy_imports("parts", "list") == []


def test_the_stale_warning_appears_when_due_and_q_hides_it(
    casman: Casman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  sync:\n    stale_after_hours: 0.0001\n")
    monkeypatch.setenv("CASMAN_CONFIG", str(config))
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "store"))
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    time.sleep(0.5)  # longer than stale_after_hours (0.36 s): the change is now stale
    warned = casman.ok("parts", "list")
    assert "not been off-site" in warned.stderr
    assert "ANT00001P1" in warned.stdout
    assert casman.ok("-q", "parts", "list").stderr == ""
    casman.ok("sync", "sync")
    assert casman.ok("parts", "list").stderr == ""


def test_the_cli_reads_the_engines_file() -> None:
    from casman.cli import stale
    from casman.db.records import GENESIS_SITE
    from casman.sync.offsite import OFFSITE_FILE

    assert stale.OFFSITE_FILE == OFFSITE_FILE
    assert stale.GENESIS_SITE == GENESIS_SITE
