"""``casman parts``: add numbered parts and list them."""

from __future__ import annotations

import click

from casman.cli.common import json_option, open_db, print_json, print_table, writes_database
from casman.cli.completion import complete_part_type, complete_polarization
from casman.domain.parts import parse_part_type, parse_polarization


@click.group()
def parts() -> None:
    """Add and list numbered parts (antennas, LNAs, coax, backplane boards)."""


@parts.command("add", short_help="Create numbered parts of a type and polarization.")
@click.argument("part_type", metavar="TYPE", shell_complete=complete_part_type)
@click.argument("count", type=click.IntRange(min=1, max=10_000))
@click.argument("polarization", shell_complete=complete_polarization)
@json_option
@writes_database
def add(part_type: str, count: int, polarization: str, as_json: bool) -> None:
    """Create COUNT new parts of TYPE (ANTENNA/ANT, LNA, COAXSHORT/CXS, COAXLONG/CXL,
    BACBOARD/BAC) with POLARIZATION 1 or 2 (P1/P2); numbers continue from the highest.

    Example: casman parts add ANTENNA 10 1
    """
    kind = parse_part_type(part_type)
    pol = parse_polarization(polarization)
    from casman.cli.common import get_config
    from casman.db.parts import add_parts
    from casman.domain.parts import number_block

    site = get_config().section("site")
    block = number_block(site.get("part_number_start"), site.get("part_number_end"))
    with open_db() as conn:
        numbers = add_parts(conn, kind, count, pol, block)
    if as_json:
        print_json({"created": numbers})
    else:
        click.echo(f"Created {len(numbers)} {kind.name} {pol} part(s):")
        for number in numbers:
            click.echo(f"  {number}")


@parts.command("list", short_help="List parts, filtered by type and polarization.")
@click.option(
    "--type",
    "part_type",
    help="Only this type (name or prefix).",
    shell_complete=complete_part_type,
)
@click.option(
    "--polarization",
    help="Only this polarization (1, 2, P1, P2).",
    shell_complete=complete_polarization,
)
@json_option
def list_(part_type: str | None, polarization: str | None, as_json: bool) -> None:
    """List parts, optionally filtered by type and polarization."""
    kind = parse_part_type(part_type) if part_type else None
    pol = parse_polarization(polarization) if polarization else None
    from casman.db.parts import list_parts

    with open_db() as conn:
        records = list_parts(conn, kind, pol)
    if as_json:
        from casman.documents import part_document

        print_json([part_document(record) for record in records])
        return
    if not records:
        click.echo("No parts.")
        return
    print_table(
        ["PART", "TYPE", "POL", "CREATED"],
        [(r.part_number, r.part_type, r.polarization, r.date_created) for r in records],
    )
    click.echo(f"{len(records)} part(s)")
