"""``casman database``: load the deployment CSVs and print what the databases hold."""

from __future__ import annotations

from pathlib import Path

import click

from casman.cli.common import get_config, open_db, print_table
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


@database.command("load-snap-boards")
@click.option("--csv", "csv_path", help="snap_boards.csv (default: in the database directory).")
def load_snap_boards(csv_path: str | None) -> None:
    """Load SNAP board configurations; all rows are checked before anything is written."""
    from casman.db.snap_boards import load_boards

    path = _csv_path(csv_path, "snap_boards.csv")
    with open_db() as conn:
        report = load_boards(conn, path)
    click.echo(report.summary(f"SNAP boards from {path}"))


@database.command("load-coordinates")
@click.option("--csv", "csv_path", help="grid_positions.csv (default: in the database directory).")
def load_coordinates(csv_path: str | None) -> None:
    """Load grid-position coordinates and fill them in for assigned antennas."""
    from casman.db.positions import load_coordinates as load
    from casman.domain.grid import geometry_from_config

    path = _csv_path(csv_path, "grid_positions.csv")
    geometry = geometry_from_config(get_config().section("grid"))
    with open_db() as conn:
        report = load(conn, path, geometry)
    click.echo(report.summary(f"Grid positions from {path}"))


@database.command("print")
@click.option("--table", "only", help="Print only this table.")
def print_(only: str | None) -> None:
    """Print what each table holds, human-readable."""
    from casman.db.schema import TABLES

    tables = [
        (schema, name)
        for schema, names in (("main", TABLES["parts.db"]), ("asm", TABLES["assembled_casm.db"]))
        for name in names
    ]
    if only and only not in {name for _, name in tables}:
        raise CasmanError(f"no table {only!r}; tables are {', '.join(n for _, n in tables)}")
    with open_db() as conn:
        click.echo(f"Database directory: {get_config().database_dir}")
        for schema, name in tables:
            if only and name != only:
                continue
            cursor = conn.execute(f"SELECT * FROM {schema}.{name}")
            rows = cursor.fetchall()
            headers = [column[0] for column in cursor.description]
            click.echo(f"\n== {name} ({len(rows)} rows) ==")
            if rows:
                print_table(headers, [tuple(row) for row in rows])
