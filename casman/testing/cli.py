"""Run ``casman`` commands from a plugin's tests, in this process, against a temp database.

A backend is only done when ``casman sync --backend NAME backup/list/restore`` work on it.
:class:`CasmanRunner` runs the real CLI (click's runner, in-process, so an in-memory store
is shared between commands the way two commands on one machine share a bucket) with a
private database directory and HOME, automatic backups off and no config file, so a test
never reads or writes anything of the developer's.
"""

from __future__ import annotations

import os
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
        from casman.storage.plugins import reset_plugin_manager

        saved, cwd = dict(os.environ), os.getcwd()
        os.environ.clear()
        os.environ.update(self.environment())
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


@pytest.fixture
def casman_runner(tmp_path: Path) -> Iterator[CasmanRunner]:
    """A :class:`CasmanRunner` on an empty database directory private to one test."""
    directory = tmp_path / "database"
    directory.mkdir()
    (tmp_path / "home").mkdir()
    yield CasmanRunner(directory)
