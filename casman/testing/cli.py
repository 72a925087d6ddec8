"""Run ``casman`` commands from a plugin's tests, in this process, against a temp database.

A backend is only done when ``casman sync --backend NAME`` works on it: sync, backup (a
checkpoint), list, restore. :class:`CasmanRunner` runs the real CLI (click's runner,
in-process, so an in-memory store is shared between commands the way two commands on one
machine share a bucket) with a private database directory and HOME, automatic backups off
and no config file, so a test never reads or writes anything of the developer's.
:func:`check_sync_round_trip` is the whole user's round on one backend, in one call.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ISOLATION_ENV = ("CASMAN_CONFIG", "CASMAN_SYNC_BACKEND", "CASMAN_LOAD_PLUGINS")
"""Variables removed for a run: a developer's own settings must not leak into a test."""


@dataclass(frozen=True)
class CliResult:
    """What one command did: exit code, stdout and stderr (already decoded)."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class CasmanRunner:
    """``casman`` bound to one database directory and a fixed environment."""

    database_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        base = {name: value for name, value in os.environ.items() if name not in ISOLATION_ENV}
        return {
            **base,
            "CASMAN_DATABASE_DIR": str(self.database_dir),
            "HOME": str(self.database_dir.parent / "home"),
            "CASMAN_AUTO_BACKUP": "false",
            **self.env,
        }

    def __call__(self, *args: str, input: str | None = None) -> CliResult:
        from click.testing import CliRunner

        from casman.cli import cli
        from casman.plugins import reset_plugin_manager

        environment = self.environment()  # from the caller's environment, before clearing it
        saved, cwd = dict(os.environ), os.getcwd()
        os.environ.clear()
        os.environ.update(environment)
        os.chdir(self.database_dir.parent)  # no ./config.yaml of the developer's
        reset_plugin_manager()  # plugins are loaded for this environment
        try:
            result: Any = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
        finally:
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(saved)
            reset_plugin_manager()
        return CliResult(tuple(args), result.exit_code, result.stdout, result.stderr)

    def ok(self, *args: str, input: str | None = None) -> CliResult:
        """Run a command that must succeed; the failure message shows its output."""
        result = self(*args, input=input)
        assert result.exit_code == 0, f"casman {' '.join(args)}: {result.output}"
        return result

    def fails(self, *args: str, code: int = 1) -> CliResult:
        """Run a command that must fail with ``code`` and one clean message (no traceback)."""
        result = self(*args)
        assert result.exit_code == code, (args, result.exit_code, result.output)
        assert "Traceback" not in result.output
        return result

    def with_env(self, **env: str) -> CasmanRunner:
        """The same database directory with more (or other) environment variables."""
        return CasmanRunner(self.database_dir, {**self.env, **env})

    def at(self, database_dir: Path) -> CasmanRunner:
        """The same environment on another database directory: another site."""
        database_dir.mkdir(parents=True, exist_ok=True)
        return CasmanRunner(database_dir, dict(self.env))


@dataclass(frozen=True)
class RoundTrip:
    """What :func:`check_sync_round_trip` saw, for a test to look further (at the store).

    ``listing`` is ``casman sync list --json`` after the checkpoint; ``checkpoint`` its one
    checkpoint (``keys``: database name -> store key, ``sha256``, ``sizes``, ``records``);
    ``parts`` the part numbers every site ends with.
    """

    listing: dict[str, Any]
    checkpoint: dict[str, Any]
    parts: list[str]


def _part_numbers(casman: CasmanRunner) -> list[str]:
    return sorted(p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").stdout))


def _parts_in(path: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = connection.execute("SELECT part_number FROM parts ORDER BY part_number")
        return [str(row[0]) for row in rows]
    finally:
        connection.close()


def check_sync_round_trip(
    casman: CasmanRunner, backend: str, *, secret: str | None = None
) -> RoundTrip:
    """What a user does with a store, on ``backend``, each step asserted.

    On an empty store: changes are published (``sync``), a checkpoint of both databases is
    stored (``backup``) and listed (``list``); going back to the first change writes the
    databases of that moment to a folder (``restore --at … --output``) and leaves the live
    ones alone; a damaged ``parts.db`` is rebuilt from the store (``restore``); another
    database directory (a second site) receives everything (``sync``); ``status`` finds
    the store and ``maintain --deep`` verifies every object. ``secret`` (a password or key
    the backend is configured with) must appear in no output.
    """

    def sync(runner: CasmanRunner, *args: str) -> CliResult:
        result = runner.ok("sync", "--backend", backend, *args)
        assert secret is None or secret not in result.output, f"secret printed by {args}"
        return result

    casman.ok("parts", "add", "ANTENNA", "2", "1")
    assert "published 1 change(s)" in sync(casman, "sync").stdout
    casman.ok("parts", "add", "LNA", "2", "1")
    out = sync(casman, "backup").stdout
    assert "published 1 change(s)" in out, out
    for db_name in ("parts.db", "assembled_casm.db"):
        assert f"{db_name}: checkpoint backups/{db_name}/" in out, out
    listing = json.loads(sync(casman, "list", "--json").stdout)
    (checkpoint,) = listing["checkpoints"]
    assert set(checkpoint["keys"]) == {"parts.db", "assembled_casm.db"}
    assert checkpoint["records"] == listing["restorable"]["moments"] == 2
    parts = _part_numbers(casman)

    first = json.loads(casman.ok("sync", "restore", "--list-times", "--json").stdout)[0]["at"]
    then = casman.database_dir.parent / "restored-then"
    sync(casman, "restore", "--at", first, "--output", str(then))
    assert _parts_in(then / "parts.db") == ["ANT00001P1", "ANT00002P1"]
    assert _part_numbers(casman) == parts  # the live databases are unchanged

    (casman.database_dir / "parts.db").write_bytes(b"\x00" * 4096)
    casman.fails("parts", "list")
    assert "parts.db was damaged: set aside" in sync(casman, "restore").stdout
    assert _part_numbers(casman) == parts

    other = casman.at(casman.database_dir.parent / "second-site")
    assert "received 2 change(s)" in sync(other, "sync").stdout
    assert _part_numbers(other) == parts
    status = json.loads(sync(other, "status", "--json").stdout)
    assert status["reachable"] is True and status["backend"] == backend
    report = json.loads(sync(other, "maintain", "--deep", "--json").stdout)
    assert report["problems"] == {}, report["problems"]
    assert set(checkpoint["keys"].values()) <= set(report["verified"])
    return RoundTrip(listing, checkpoint, parts)


@pytest.fixture
def casman_runner(tmp_path: Path) -> Iterator[CasmanRunner]:
    """A :class:`CasmanRunner` on an empty database directory private to one test."""
    directory = tmp_path / "database"
    directory.mkdir()
    (tmp_path / "home").mkdir()
    yield CasmanRunner(directory)
