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
        cached = load_config(root.obj.get("config_path"))
        root.obj["config"] = cached
        for warning in cached.warnings:  # once per invocation: the config is cached
            click.echo(f"Warning: {warning}", err=True)
    assert isinstance(cached, Config)
    return cached


@contextmanager
def open_db(ctx: click.Context | None = None) -> Iterator[sqlite3.Connection]:
    from casman.db.connection import open_databases

    conn = open_databases(get_config(ctx).database_dir)
    try:
        yield conn
    finally:
        conn.close()


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
