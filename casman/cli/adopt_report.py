"""How ``casman database migrate`` shows an adoption: per file, per rule, with counts.

The rules' ids are the ones ``docs/migrating.md`` explains, so a user can look up every
line. Values kept as written are listed apart: they are what reads differently from the
old tool, or not at all.
"""

from __future__ import annotations

from pathlib import Path

import click

from casman.db.adopt import KEPT, RULES, Adoption, Tally, row_counts


def _lines(entries: dict[tuple[str, str], Tally], order: list[str]) -> list[str]:
    rows = sorted(entries.items(), key=lambda item: (order.index(item[0][0]), item[0][1]))
    width = max((len(rule) for (rule, _), _ in rows), default=0)
    where_width = max((len(where) for (_, where), _ in rows), default=0)
    return [
        f"  {rule.ljust(width)}  {where.ljust(where_width)}  {tally.count:>6}"
        + (f"  e.g. {tally.example}" if tally.example else "")
        for (rule, where), tally in rows
    ]


def show_adoption(directory: Path, adoption: Adoption, *, dry_run: bool) -> None:
    """Print what the adoption does (or did); nothing when the files are casman's."""
    if not adoption.writes:
        click.echo(f"{directory} holds casman databases; nothing to adopt.")
        return
    click.echo(
        f"{'Would adopt' if dry_run else 'Adopted'} the databases in {directory} "
        f"(times without a zone read in {adoption.zone.name}):"
    )
    for plan in adoption.plans:
        lines = _lines(plan.mapped, list(RULES))
        if lines:
            click.echo(plan.layout.db_name)
            for line in lines:
                click.echo(line)
    kept = {key: tally for plan in adoption.plans for key, tally in plan.kept.items()}
    if kept:
        click.echo("Kept exactly as written (reported):")
        for line in _lines(kept, list(KEPT)):
            click.echo(line)
    counts = row_counts(adoption.plans)
    if counts:
        shown = ", ".join(f"{name} {before} → {after}" for name, (before, after) in counts.items())
        click.echo(f"Rows: {shown} (none dropped)")
    if dry_run:
        click.echo(
            "Dry run: nothing was changed. Without --dry-run the files are copied to "
            f"{directory}/safety/ first, then converted in one transaction."
        )
    elif adoption.safety_copies:
        click.echo("Originals (byte for byte): " + ", ".join(map(str, adoption.safety_copies)))
