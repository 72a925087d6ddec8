"""Help a stranger can read: whole summaries, 80 columns, every environment variable named,
and a checked-in CLI reference that says what the program says."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from casman.cli import cli
from casman.cli.reference import render, walk
from tests.conftest import REPO_ROOT

WIDTH = 80


def _groups() -> list[click.Context]:
    return [ctx for ctx in walk() if isinstance(ctx.command, click.Group)]


def test_the_tree_is_walked_whole() -> None:
    paths = {ctx.command_path for ctx in walk()}
    assert {"casman parts add", "casman sync restore", "casman snap list", "casman web"} <= paths
    assert len(paths) > 40


@pytest.mark.parametrize("ctx", _groups(), ids=lambda ctx: ctx.command_path)
def test_no_summary_is_cut_and_each_fits_one_line(ctx: click.Context) -> None:
    """click cuts a long first sentence with "..."; every command says its summary whole,
    on the one line its group's listing gives it at 80 columns."""
    group = ctx.command
    assert isinstance(group, click.Group)
    names = group.list_commands(ctx)
    room = WIDTH - 2 - 2 - 2 - max(len(name) for name in names)
    for name in names:
        sub = group.get_command(ctx, name)
        assert sub is not None
        summary = sub.get_short_help_str(limit=room)
        assert summary, f"{ctx.command_path} {name} has no summary"
        assert not summary.endswith(("...", "…", "(e.g.")), (name, summary)
        assert "\n" not in summary and len(summary) <= room, (name, summary)
    listing = group.get_help(ctx).split("Commands:\n", 1)[1]
    assert "..." not in listing


@pytest.mark.parametrize("ctx", list(walk()), ids=lambda ctx: ctx.command_path)
def test_every_help_line_fits_80_columns(ctx: click.Context) -> None:
    text = ctx.command.get_help(ctx)
    assert ctx.command.get_short_help_str(limit=1000) or ctx.parent is None
    too_wide = [line for line in text.splitlines() if len(line) > WIDTH]
    assert not too_wide


def test_help_of_a_real_run_fits_a_narrow_terminal() -> None:
    """Through the entry point, as a user types it, with COLUMNS as a terminal sets it."""
    result = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["sync", "--help"])
    assert result.exit_code == 0
    assert max(len(line) for line in result.output.splitlines()) <= WIDTH
    assert re.search(r"^  restore +\S", result.output, re.MULTILINE)
    assert "..." not in result.output.split("Commands:", 1)[1]


_READS = (
    r"environ(?:\.get)?\(\s*\"([A-Z][A-Z0-9_]+)\"",
    r"environ\[\"([A-Z][A-Z0-9_]+)\"\]",
    r"getenv\(\s*\"([A-Z][A-Z0-9_]+)\"",
    r"envvar=\"([A-Z][A-Z0-9_]+)\"",
    r"\benv=\"([A-Z][A-Z0-9_]+)\"",
    r"_ENV = \"([A-Z][A-Z0-9_]+)\"",
)


def _variables_in_source() -> set[str]:
    """Every environment variable the code of casman and its plugins names when reading."""
    sources = [*(REPO_ROOT / "casman").rglob("*.py")]
    for plugin in (REPO_ROOT / "plugins").glob("casman_*"):
        sources += (plugin / plugin.name).rglob("*.py")
    found: set[str] = set()
    for path in sources:
        if "testing" in path.parts or "build" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in _READS:
            found.update(re.findall(pattern, text))
    return found


def _variables_of_backends() -> set[str]:
    """What casman's own backends declare (f-string names included); a third-party
    plugin documents its own."""
    from casman.storage.plugins import backend_specs

    ours = {"local", "s3", "r2", "fsspec"}
    specs = [spec for name, spec in backend_specs().items() if name in ours]
    return {option.env for spec in specs for option in spec.options if option.env}


def test_top_level_help_names_every_environment_variable_casman_reads() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    help_text = result.output.split("Environment variables:", 1)[1]
    read = _variables_in_source() | _variables_of_backends()
    assert {"CASMAN_DATABASE_DIR", "CASMAN_AUTO_BACKUP", "R2_ACCOUNT_ID", "XDG_CONFIG_HOME"} <= read
    missing = sorted(name for name in read if not re.search(rf"\b{name}\b", help_text))
    assert not missing, f"add to casman/cli/environment.py: {missing}"


def test_the_cli_reference_is_current() -> None:
    """docs/cli.md is generated from the click tree; regenerate it after changing a command:
    python -m casman.cli.reference --output docs/cli.md"""
    checked_in = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert checked_in == render(), (
        "docs/cli.md is stale: python -m casman.cli.reference --output docs/cli.md"
    )


def test_the_cli_reference_holds_every_command_and_option() -> None:
    text = render()
    for ctx in walk():
        assert f"## `{ctx.command_path}`" in text
        for param in ctx.command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.opts[-1] in text, (ctx.command_path, param.opts)


def test_the_reference_check_mode_fails_on_a_stale_file(tmp_path: Path) -> None:
    from casman.cli.reference import main

    target = tmp_path / "cli.md"
    target.write_text("old\n")
    assert main(["--output", str(target), "--check"]) == 1
    assert main(["--output", str(target)]) == 0
    assert main(["--output", str(target), "--check"]) == 0
