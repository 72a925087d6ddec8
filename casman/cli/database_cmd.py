"""``casman database``: load the deployment CSVs and print what the databases hold."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path
from typing import Any

import click

from casman.cli.common import get_config, json_option, open_db, print_json, writes_database
from casman.cli.completion import complete_table
from casman.errors import CasmanError


def _csv_path(given: str | None, default_name: str) -> Path:
    if given:
        return Path(given)
    path = get_config().database_dir / default_name
    if not path.exists():
        raise CasmanError(
            f"no --csv given and {path} does not exist; pass --csv PATH "
            f"(e.g. --csv examples/data/{default_name})"
        )
    return path


@click.group()
def database() -> None:
    """Load SNAP boards and grid coordinates; print the databases."""


@database.command("load-snap-boards", short_help="Load SNAP boards from snap_boards.csv.")
@click.option("--csv", "csv_path", help="snap_boards.csv (default: in the database directory).")
@writes_database
def load_snap_boards(csv_path: str | None) -> None:
    """Load SNAP board configurations; all rows are checked before anything is written."""
    from casman.db.snap_boards import load_boards

    path = _csv_path(csv_path, "snap_boards.csv")
    with open_db() as conn:
        report = load_boards(conn, path)
    click.echo(report.summary(f"SNAP boards from {path}"))


@database.command("load-coordinates", short_help="Load grid coordinates from grid_positions.csv.")
@click.option("--csv", "csv_path", help="grid_positions.csv (default: in the database directory).")
@writes_database
def load_coordinates(csv_path: str | None) -> None:
    """Load grid-position coordinates and fill them in for assigned antennas."""
    from casman.db.positions import load_coordinates as load
    from casman.domain.grid import geometry_from_config

    path = _csv_path(csv_path, "grid_positions.csv")
    geometry = geometry_from_config(get_config().section("grid"))
    with open_db() as conn:
        report = load(conn, path, geometry)
    click.echo(report.summary(f"Grid positions from {path}"))


def _cell(value: object) -> str:
    """What :func:`casman.cli.common.print_table` shows for a value."""
    return "-" if value is None or value == "" else str(value)


def _cells(column: Sequence[Any]) -> Sequence[str]:
    """A column as ``print_table`` shows it; the common kinds of column in bulk."""
    kinds = set(map(type, column))
    if kinds == {str} and "" not in column:
        return column
    if kinds == {int}:
        return list(map(str, column))
    if kinds <= {str, type(None)}:
        return ["-" if value is None or value == "" else value for value in column]
    return [_cell(value) for value in column]


def _print_rows(conn: sqlite3.Connection, schema: str, name: str) -> None:
    """One table exactly as ``print_table`` prints it, built a column at a time.

    ``print_table`` is made for a screenful: it builds each line from a join over ljust
    calls and hands it to ``click.echo`` alone, which for 50,000 rows costs ten times what
    the ``sqlite3`` shell takes. Here whole columns are converted, measured and padded at
    once (the last column unpadded, so the ``rstrip`` is only needed when a value itself
    ends in white space), and lines go out in blocks.
    """
    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(f"SELECT * FROM {schema}.{name}")  # casman's own table names only
    headers = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    click.echo(f"\n== {name} ({len(rows)} rows) ==")
    if not rows:
        return
    columns = [_cells(column) for column in zip(*rows, strict=True)]
    del rows
    widths = [max(len(h), *map(len, c)) for h, c in zip(headers, columns, strict=True)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    spaced = any(cell[-1:].isspace() for cell in columns[-1])
    for start in range(0, len(columns[0]), _BLOCK):
        block = [column[start : start + _BLOCK] for column in columns]
        padded = [
            list(map(str.ljust, cells, repeat(width)))
            for cells, width in zip(block, widths, strict=True)
        ]
        lines = map("  ".join, zip(*padded[:-1], block[-1], strict=True))
        click.echo("\n".join(map(str.rstrip, lines) if spaced else lines))


_BLOCK = 10_000


@database.command("print", short_help="Print what each table holds.")
@click.option("--table", "only", help="Print only this table.", shell_complete=complete_table)
@json_option
def print_(only: str | None, as_json: bool) -> None:
    """Print what each table holds, human-readable (--json: every row as an object)."""
    from casman.db.schema import TABLES

    tables = [
        (schema, name)
        for schema, names in (("main", TABLES["parts.db"]), ("asm", TABLES["assembled_casm.db"]))
        for name in names
    ]
    if only and only not in {name for _, name in tables}:
        raise CasmanError(f"no table {only!r}; tables are {', '.join(n for _, n in tables)}")
    if as_json:
        _print_json_tables(tables, only)
        return
    with open_db() as conn:
        click.echo(f"Database directory: {get_config().database_dir}")
        for schema, name in tables:
            if not only or name == only:
                _print_rows(conn, schema, name)


def _print_json_tables(tables: list[tuple[str, str]], only: str | None) -> None:
    """``{"database_dir": …, "tables": {name: [row, …]}}``, every column of every row."""
    from casman.documents import table_rows

    with open_db() as conn:
        print_json(
            {
                "database_dir": str(get_config().database_dir),
                "tables": {
                    name: list(table_rows(conn, schema, name))
                    for schema, name in tables
                    if not only or name == only
                },
            }
        )
