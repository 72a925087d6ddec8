"""The ``casman`` command. Sub-commands are imported only when invoked.

Lazy loading keeps ``casman parts list`` as fast as a bare ``import click, sqlite3``: the
sync, plugin and web groups (and boto3, fsspec, Flask behind them) are never imported on
the everyday path, nor is the sync engine (the stale-copy check after each command asks
the connection it already has first, see :mod:`casman.cli.stale`).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from casman import __version__

if TYPE_CHECKING:
    from casman.db.changes import Change

# command name -> "module:attribute"; the modules live in casman/cli/.
LAZY_COMMANDS: dict[str, str] = {
    "parts": "casman.cli.parts_cmd:parts",
    "assembly": "casman.cli.assembly_cmd:assembly",
    "scan": "casman.cli.scan_cmd:scan",
    "antenna": "casman.cli.antenna_cmd:antenna",
    "database": "casman.cli.database_cmd:database",
    "snap": "casman.cli.snap_cmd:snap",
    "sync": "casman.cli.sync_cmd:sync",
    "plugins": "casman.cli.plugins_cmd:plugins",
    "web": "casman.cli.web_cmd:web",
    "config": "casman.cli.config_cmd:config",
}

COMMAND_HELP: dict[str, str] = {
    "parts": "Add and list numbered parts: antennas, LNAs, coax, boards.",
    "assembly": "Connect and disconnect parts; chains and history.",
    "scan": "Scan barcodes to record connections and disconnections.",
    "antenna": "Place antennas on the grid and look them up.",
    "database": "Load SNAP boards and coordinates; print the tables.",
    "snap": "SNAP boards, their ports and packet indices.",
    "sync": "Back up, restore and sync with a storage backend.",
    "plugins": "List the plugins and the storage backends they add.",
    "web": "Serve read-only web pages of chains, grid and SNAP.",
    "config": "The settings in force and where each comes from.",
}
"""One-line summaries of the commands, shown without importing them."""


class LazyGroup(click.Group):
    """A click group that imports a sub-command's module only when it is run."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        if not command.short_help:
            command.short_help = COMMAND_HELP[cmd_name]
        from casman.cli.completion import attach_value_completion
        from casman.cli.helptext import ensure_summaries

        ensure_summaries(command, f"casman {cmd_name}")
        attach_value_completion(command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """A broken pipe is told apart here, before click turns every EPIPE into exit 1."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError as error:
            from casman.cli.errors import closed_output_or_failure

            raise closed_output_or_failure(error) from None

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Every user-facing failure ends as one line on stderr, never a traceback."""
        from casman.cli.errors import run_with_clean_errors

        kwargs["standalone_mode"] = False
        kwargs.setdefault("prog_name", "casman")
        return run_with_clean_errors(lambda: super(LazyGroup, self).main(*args, **kwargs))

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Complete sub-command names from COMMAND_HELP, importing none of them.

        Completing deeper (``casman sync <TAB>``) resolves the real group through
        :meth:`get_command`, so every group, command and option completes.
        """
        from click.shell_completion import CompletionItem

        if incomplete.startswith("-"):
            return super().shell_complete(ctx, incomplete)
        return [
            CompletionItem(name, help=COMMAND_HELP.get(name))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMAND_HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Every environment variable casman reads, after the commands."""
        from casman.cli.environment import ENVIRONMENT
        from casman.cli.helptext import format_environment

        with formatter.section("Environment variables"):
            format_environment(formatter, ENVIRONMENT)


@click.group(cls=LazyGroup)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _print_version(ctx) if value else None,
    help="Show casman's version and the installed plugins, then exit.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="CASMAN_CONFIG",
    help="config.yaml to use (default: ./config.yaml, then "
    "$XDG_CONFIG_HOME/casman/config.yaml, ~/.config when unset).",
)
@click.option(
    "--database-dir",
    type=click.Path(file_okay=False),
    help="Folder of parts.db and assembled_casm.db (default: CASMAN_DATABASE_DIR, "
    "database.dir, an existing ./database, else the per-user data directory).",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Say what casman does on stderr; -vv adds debug detail. Secrets are never logged.",
)
@click.option("-q", "--quiet", is_flag=True, help="Only errors on stderr: no warnings or notes.")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    database_dir: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """casman — the assembly manager of the CASM array.

    Records which antenna feeds which LNA, coax, backplane board and SNAP port, where each
    antenna sits on the grid, and which packet index its signal arrives on.
    """
    if quiet and verbose:
        raise click.UsageError("-q and -v contradict each other; give one of them")
    from casman.cli.verbosity import QUIET, set_verbosity

    level = QUIET if quiet else min(verbose, 2)
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["database_dir"] = database_dir
    ctx.obj["verbosity"] = level
    set_verbosity(level)
    from casman.db.changes import subscribe, unsubscribe

    subscribe(_after_change)
    ctx.call_on_close(_warn_if_stale)
    # a program that runs several commands in one process (tests, the web) must not keep
    # reacting to changes with a listener whose click context is gone
    ctx.call_on_close(lambda: unsubscribe(_after_change))


def _print_version(ctx: click.Context) -> None:
    """casman's version and each plugin distribution (read from metadata, not imported)."""
    from importlib.metadata import entry_points

    click.echo(f"casman {__version__}")
    for entry in sorted(entry_points(group="casman"), key=lambda e: e.name):
        dist = getattr(entry, "dist", None)
        where = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
        click.echo(f"  plugin {entry.name}: {where}")
    ctx.exit()


def _after_change(database_dir: Path, change: Change) -> None:
    """Every committed change goes to the ``casman_after_change`` hook (automatic backups)."""
    import logging

    from casman.cli.common import get_config
    from casman.plugins import fire_after_change

    logging.getLogger("casman.cli").debug(
        "committed %s on %s (%d record(s))", change.kind, change.db_name, change.count
    )
    fire_after_change(get_config(), database_dir, change)


def _warn_if_stale() -> None:
    """One line when local changes wait and the newest off-site copy is too old."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    if not isinstance(obj, dict) or obj.get("config") is None:
        return  # the command read no configuration, so it touched no database
    config = obj["config"]
    from casman.cli.stale import stale_line
    from casman.cli.verbosity import note
    from casman.domain.timestamps import utc_now

    line = stale_line(config, utc_now(), obj.get("offsite_oldest", True))
    if line:
        note(line)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv if argv is not None else sys.argv[1:])
