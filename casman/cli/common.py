"""What every command shares: configuration, the database connection, output helpers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from casman.config import Config, load_config

F = TypeVar("F", bound=Callable[..., Any])


def get_config(ctx: click.Context | None = None) -> Config:
    """The configuration, read once per invocation and cached on the root context."""
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    root.ensure_object(dict)
    cached = root.obj.get("config")
    if cached is None:
        cached = load_config(root.obj.get("config_path"), database_dir=root.obj.get("database_dir"))
        root.obj["config"] = cached
        from casman.cli.verbosity import log, note

        log.debug("config file: %s", cached.source or "none (defaults)")
        log.debug("databases: %s (%s)", cached.database_dir, cached.database_dir_source)
        chosen = root.obj.get("backend")  # `casman sync --backend NAME`
        for warning in cached.warnings:  # once per invocation: the config is cached
            if chosen == "r2" and warning.startswith("R2_"):
                continue  # R2_* are exactly what `--backend r2` reads
            note(f"Warning: {warning}")
    assert isinstance(cached, Config)
    return cached


def writes_database(command: F) -> F:
    """Mark a command that writes: only such commands may create the databases."""
    command.__casman_writes__ = True  # type: ignore[attr-defined]
    return command


def _writes(ctx: click.Context) -> bool:
    callback = ctx.command.callback
    return bool(getattr(callback, "__casman_writes__", False))


@contextmanager
def open_db(ctx: click.Context | None = None) -> Iterator[sqlite3.Connection]:
    """The databases of this command; reading commands never create them.

    A command that only reads, with no databases where casman looks, says where it looked
    (and why there) instead of creating an empty pair and answering "No parts.". The first
    writing command creates them and says so in one line.
    """
    from casman.db.connection import open_databases
    from casman.db.schema import DATABASE_NAMES
    from casman.errors import CasmanError

    ctx = ctx or click.get_current_context()
    config = get_config(ctx)
    directory = config.database_dir
    existed = any((directory / name).exists() for name in DATABASE_NAMES)
    if not existed and not _writes(ctx):
        raise CasmanError(
            f"no casman databases in {directory} ({config.database_dir_source}); add parts "
            "with `casman parts add`, or use --database-dir / CASMAN_DATABASE_DIR to point "
            "at your databases (`casman config path` shows where casman looks)"
        )
    if existed:
        from casman.cli.database_cmd import adopt_before_open

        view = adopt_before_open(directory, writing=_writes(ctx))
        if view is not None:  # older CAsMan databases, read as casman reads them
            try:
                yield view
            finally:
                view.close()
            return
    conn = open_databases(directory)
    if not existed:
        from casman.cli.verbosity import note

        note(f"Created new databases in {directory} ({config.database_dir_source})")
    try:
        yield conn
        _note_offsite(ctx, config, conn)
    finally:
        conn.close()


def _note_offsite(ctx: click.Context, config: Config, conn: sqlite3.Connection) -> None:
    """When the oldest local work not yet off-site was made, asked on this open connection
    for the stale-copy warning after the command (see :mod:`casman.cli.stale`)."""
    if not config.sync.enabled or not config.sync.stale_after_hours:
        return
    from casman.cli.stale import oldest_waiting

    ctx.find_root().obj["offsite_oldest"] = oldest_waiting(conn, config.database_dir)


def json_option(function: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(
        function
    )


def print_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Plain aligned columns; empty cells shown as '-'."""
    cells = [
        [("-" if value is None or value == "" else str(value)) for value in row] for row in rows
    ]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    click.echo(
        "  ".join(
            header.ljust(width) for header, width in zip(headers, widths, strict=True)
        ).rstrip()
    )
    for row in cells:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
