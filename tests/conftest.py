"""Shared fixtures: a temporary database directory and a CLI runner bound to it."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from casman.cli import cli

REPO_ROOT = Path(__file__).resolve().parent.parent
MEMORY_PLUGIN_DIR = REPO_ROOT / "tests" / "fixtures" / "casman_memory_backend"
EXAMPLE_DATA = REPO_ROOT / "examples" / "data"
SNAP_CSV = EXAMPLE_DATA / "snap_boards.csv"
GRID_CSV = EXAMPLE_DATA / "grid_positions.csv"


@pytest.fixture
def db_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty database directory, selected through CASMAN_DATABASE_DIR, in a clean cwd."""
    directory = tmp_path / "database"
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(directory))
    monkeypatch.delenv("CASMAN_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # automatic backups (on by default) start a detached uploader per trigger; tests that
    # are not about them keep them off, tests/test_auto_backup.py turns them on
    monkeypatch.setenv("CASMAN_AUTO_BACKUP", "false")
    monkeypatch.chdir(tmp_path)
    return directory


@dataclass
class Casman:
    """Runs ``casman`` through its click entry point against one database directory."""

    directory: Path

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output + result.stderr
        return result

    def fails(self, *args: str, code: int = 1, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
        assert "Traceback" not in result.output + result.stderr
        return result


@pytest.fixture
def casman(db_dir: Path) -> Casman:
    return Casman(db_dir)


def fingerprint(directory: Path) -> dict[str, str]:
    """SHA-256 of every database file, after checkpointing WAL content into the files."""
    import sqlite3

    prints = {}
    for name in ("parts.db", "assembled_casm.db"):
        path = directory / name
        if path.exists():
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
            prints[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return prints


@pytest.fixture
def unchanged(db_dir: Path) -> Callable[[], None]:
    """Call once to snapshot both databases; the test then asserts they are byte-identical."""
    before: dict[str, str] = {}

    def snapshot() -> None:
        before.clear()
        before.update(fingerprint(db_dir))

    return snapshot


FULL_CHAIN_TYPES = ("LNA", "COAXSHORT", "COAXLONG", "BACBOARD")


def build_chain(casman: Casman, n: int, polarization: str, snap_port: str) -> list[str]:
    """Connect ANT/LNA/CXS/CXL/BAC number n of a polarization to a SNAP port."""
    p = polarization
    parts = [
        f"ANT{n:05d}{p}",
        f"LNA{n:05d}{p}",
        f"CXS{n:05d}{p}",
        f"CXL{n:05d}{p}",
        f"BAC{n:05d}{p}",
    ]
    for source, target in zip(parts, [*parts[1:], snap_port], strict=True):
        casman.ok("assembly", "connect", source, target)
    return parts


def add_all_types(casman: Casman, count: int, polarization: str) -> None:
    for part_type in ("ANTENNA", *FULL_CHAIN_TYPES):
        casman.ok("parts", "add", part_type, str(count), polarization)


def copy_examples(tmp_path: Path) -> tuple[Path, Path]:
    snap = tmp_path / "snap_boards.csv"
    grid = tmp_path / "grid_positions.csv"
    shutil.copy(SNAP_CSV, snap)
    shutil.copy(GRID_CSV, grid)
    return snap, grid


def ensure_memory_plugin_installed() -> None:
    """Install the fixture plugin if CI has not (entry points need real metadata)."""
    import importlib
    import importlib.metadata
    import subprocess
    import sys

    try:
        importlib.metadata.distribution("casman-memory-backend")
    except importlib.metadata.PackageNotFoundError:
        base = [sys.executable, "-m", "pip", "install", "--no-deps", "-q"]
        done = subprocess.run([*base, "--no-build-isolation", "-e", str(MEMORY_PLUGIN_DIR)])
        if done.returncode != 0:  # an old setuptools cannot build editables offline
            subprocess.run([*base, "-e", str(MEMORY_PLUGIN_DIR)], check=True)
        importlib.invalidate_caches()
    if str(MEMORY_PLUGIN_DIR) not in sys.path:  # the editable .pth is read only at start-up
        sys.path.insert(0, str(MEMORY_PLUGIN_DIR))
