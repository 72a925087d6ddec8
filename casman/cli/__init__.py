"""The ``casman`` command. Sub-commands are imported only when invoked.

Lazy loading keeps ``casman parts list`` as fast as a bare ``import click, sqlite3``: the
sync, plugin and web groups (and boto3, fsspec, Flask behind them) are never imported on
the everyday path.
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
    "parts": "Add and list numbered parts (antennas, LNAs, coax, backplane boards).",
    "assembly": "Connect and disconnect parts; show chains and history.",
    "scan": "Interactive barcode scanning of connections and disconnections.",
    "antenna": "Assign antennas to grid positions and look them up.",
    "database": "Load SNAP boards and grid coordinates; print the databases.",
    "snap": "Show SNAP boards, their ports and packet indices.",
    "sync": "Back up, list, restore and sync the databases with a storage backend.",
    "plugins": "List loaded plugins and the storage backends they register.",
    "web": "Serve read-only web views of chains, the grid and SNAP ports.",
    "config": "Show the settings in force and where each comes from; write a config.yaml.",
}


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
        return command

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
    help="config.yaml to use (default: ./config.yaml, then ~/.config/casman/config.yaml).",
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
    help="Log what casman does to stderr (-vv for debug). Secrets are never logged.",
)
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, database_dir: str | None, verbose: int
) -> None:
    """casman — the assembly manager of the CASM array.

    Records which antenna feeds which LNA, coax, backplane board and SNAP port, where each
    antenna sits on the grid, and which packet index its signal arrives on.
    """
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["database_dir"] = database_dir
    from casman.db.changes import subscribe

    subscribe(_after_change)
    ctx.call_on_close(_warn_if_stale)
    if verbose:
        import logging

        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("casman")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


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
    from casman.cli.common import get_config
    from casman.sync.auto import fire_after_change

    fire_after_change(get_config(), database_dir, change)


def _warn_if_stale() -> None:
    """One line when local changes wait and the newest off-site copy is too old."""
    ctx = click.get_current_context(silent=True)
    config = ctx.find_root().obj.get("config") if ctx is not None and ctx.obj else None
    if config is None:
        return  # the command read no configuration, so it touched no database
    from casman.domain.timestamps import utc_now
    from casman.sync.tracker import stale_warning

    line = stale_warning(config.database_dir, config.sync, utc_now())
    if line:
        click.echo(line, err=True)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv if argv is not None else sys.argv[1:])
