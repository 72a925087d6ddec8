"""``casman database``: load the deployment CSVs, print the databases, adopt old ones."""

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
    """The CSV to load: ``--csv``, else the generators' default in the database directory.

    When that file is missing but one of the same name sits in the current directory (an
    older casman's generators wrote there), the message names it instead of guessing.
    """
    from casman.generate import default_csv

    if given:
        return Path(given).resolve()
    path = default_csv(get_config().database_dir, default_name).resolve()
    if not path.exists():
        here = Path(default_name)
        found = (
            f"; {here.resolve()} exists, so pass --csv {default_name}"
            if here.is_file()
            else f" (e.g. --csv examples/data/{default_name})"
        )
        raise CasmanError(f"no --csv given and {path} does not exist; pass --csv PATH{found}")
    return path


@click.group()
def database() -> None:
    """Load SNAP boards and grid coordinates; print the databases; adopt old ones."""


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


@database.command("migrate", short_help="Convert older CAsMan databases in place.")
@click.option(
    "--dry-run", is_flag=True, help="Show what would change, rule by rule; change nothing."
)
@click.option(
    "--timezone",
    "zone_name",
    metavar="ZONE",
    help="Zone the old tool's clock was in, for times it wrote without one (an IANA name "
    "such as America/New_York, UTC, or -05:00; default: this machine's zone, TZ honoured).",
)
def migrate(dry_run: bool, zone_name: str | None) -> None:
    """Adopt databases written by the original CAsMan (or an older casman).

    Every row is kept; values casman would not have written are mapped by the rules in
    docs/migrating.md or kept as written and reported. The files are copied byte for byte
    to safety/before-adoption-STAMP/ first and converted in one transaction. Reading
    commands work on old databases without this; the first change runs it by itself.
    """
    from casman.cli.adopt_report import show_adoption
    from casman.db.adopt import migrate as adopt
    from casman.db.adopt import parse_zone, plan_directory
    from casman.db.schema import DATABASE_NAMES

    config = get_config()
    directory = config.database_dir
    if not any((directory / name).is_file() for name in DATABASE_NAMES):
        raise CasmanError(
            f"no databases in {directory} ({config.database_dir_source}); point "
            "--database-dir or CASMAN_DATABASE_DIR at the folder of parts.db and "
            "assembled_casm.db"
        )
    zone = parse_zone(zone_name) if zone_name else None
    adoption = plan_directory(directory, zone) if dry_run else adopt(directory, zone)
    show_adoption(directory, adoption, dry_run=dry_run)


def adopt_before_open(directory: Path, *, writing: bool) -> sqlite3.Connection | None:
    """What opening the databases does first when they are older CAsMan databases.

    A reading command gets an adopted copy in memory (nothing on disk changes) and one
    line saying so; a writing command converts the files in place first (safety copy, one
    transaction) and says where the originals are. None: open the files as usual.
    """
    from casman.db.adopt_mark import directory_is_current

    if directory_is_current(directory):
        return None  # the everyday path: no planner imported
    from casman.db.adopt import adopted_view, needs_adoption
    from casman.db.adopt import migrate as adopt

    if not needs_adoption(directory):
        return None
    if not writing:
        view = adopted_view(directory)
        if view is not None:
            click.echo(
                f"Note: {directory} holds older CAsMan databases, shown as casman reads them "
                "and not changed; the first change (or `casman database migrate`) converts "
                "them",
                err=True,
            )
        return view
    adoption = adopt(directory)
    if adoption.applied and adoption.substantive:
        where = adoption.safety_copies[0].parent if adoption.safety_copies else directory
        click.echo(
            f"Adopted the older CAsMan databases in {directory} (times without a zone read "
            f"in {adoption.zone.name}); originals kept in {where}; `casman database migrate "
            "--dry-run` on a copy lists the rules",
            err=True,
        )
    return None


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
