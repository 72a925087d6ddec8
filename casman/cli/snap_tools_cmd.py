"""``casman snap generate-csv``: a placeholder snap_boards.csv for a new or test install."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

DEFAULT_OUTPUT = "snap_boards.csv"


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
    default=DEFAULT_OUTPUT,
    show_default=True,
    type=click.Path(dir_okay=False),
    help="CSV file to write.",
)
@click.option("--notes", help="Notes column (default: 'Generated on DATE').")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def generate_csv(chassis_count: int, output: str, notes: str | None, force: bool) -> None:
    """Write snap_boards.csv with unique placeholder serials, MACs, IPs and feng ids 0, 1, 2 …

    Load it with `casman database load-snap-boards --csv OUTPUT`; replace the placeholders
    with the real boards' values before relying on packet indices.
    """
    from casman.generate import generate_snap_boards, snap_csv_text
    from casman.userfiles import write_output

    text_notes = notes if notes is not None else f"Generated on {date.today().isoformat()}"
    boards = generate_snap_boards(chassis_count, text_notes)
    path = Path(output)
    write_output(path, snap_csv_text(boards), force=force)
    click.echo(f"Wrote {len(boards)} SNAP boards to {path}")
