"""``casman snap generate-csv``: a placeholder snap_boards.csv for a new or test install."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click


@click.command("generate-csv", short_help="Write a placeholder snap_boards.csv.")
@click.option(
    "--chassis",
    "chassis_count",
    type=click.IntRange(1, 4),
    default=4,
    show_default=True,
    help="Number of chassis (1–4), 11 slots each.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="CSV file to write (default: snap_boards.csv in the database directory, where "
    "`casman database load-snap-boards` reads it).",
)
@click.option("--notes", help="Notes column (default: 'Generated on DATE').")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def generate_csv(chassis_count: int, output: str | None, notes: str | None, force: bool) -> None:
    """Write snap_boards.csv with unique placeholder serials, MACs, IPs and feng ids 0, 1, 2 …

    Written by default where `casman database load-snap-boards` reads it (the database
    directory); replace the placeholders with the real boards' values before relying on
    packet indices.
    """
    from casman.cli.common import get_config
    from casman.generate import (
        SNAP_BOARDS_CSV,
        default_csv,
        generate_snap_boards,
        load_hint,
        snap_csv_text,
    )
    from casman.userfiles import write_output

    text_notes = notes if notes is not None else f"Generated on {date.today().isoformat()}"
    boards = generate_snap_boards(chassis_count, text_notes)
    default = default_csv(get_config().database_dir, SNAP_BOARDS_CSV)
    path = Path(output) if output else default
    if not output:
        path.parent.mkdir(parents=True, exist_ok=True)
    write_output(path, snap_csv_text(boards), force=force)
    hint = load_hint(path, default, "load-snap-boards")
    click.echo(f"Wrote {len(boards)} SNAP boards to {path.resolve()}; load them with {hint}")
