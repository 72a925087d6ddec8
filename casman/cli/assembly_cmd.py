"""``casman assembly``: connect, disconnect, and look at chains and history."""

from __future__ import annotations

import click

from casman.cli.common import json_option, open_db, print_json, print_table, writes_database
from casman.cli.completion import complete_part
from casman.cli.output import format_chain
from casman.domain.connections import parse_part


@click.group()
def assembly() -> None:
    """Connect and disconnect parts; show chains and history."""


@assembly.command("connect", short_help="Record that SOURCE feeds TARGET.")
@click.argument("source", shell_complete=complete_part)
@click.argument("target", shell_complete=complete_part)
@writes_database
def connect(source: str, target: str) -> None:
    """Record that SOURCE feeds TARGET (e.g. ANT00001P1 LNA00001P1, BAC00001P1 SNAP1A00)."""
    from casman.db.assembly import connect as record_connection

    src, tgt = parse_part(source), parse_part(target)
    with open_db() as conn:
        record_connection(conn, src, tgt)
    click.echo(f"Connected {src.part_number} → {tgt.part_number}")


@assembly.command("disconnect", short_help="Record that SOURCE no longer feeds TARGET.")
@click.argument("source", shell_complete=complete_part)
@click.argument("target", shell_complete=complete_part)
@writes_database
def disconnect(source: str, target: str) -> None:
    """Record that SOURCE no longer feeds TARGET (they must be connected).

    The two may be given in either order, as a technician scans the ends of a cable.
    """
    from casman.db.assembly import disconnect as record_disconnection
    from casman.db.assembly import event

    src, tgt = parse_part(source), parse_part(target)
    with open_db() as conn:
        done = event(conn, record_disconnection(conn, src, tgt))
    click.echo(f"Disconnected {done.part_number} ↛ {done.connected_to}")


@assembly.command("chain", short_help="The chain through a part, antenna to SNAP port.")
@click.argument("part", shell_complete=complete_part)
@json_option
def chain(part: str, as_json: bool) -> None:
    """Show the whole chain through PART, ANTENNA to SNAP, with board and packet index."""
    from casman.db.chains import chain_through
    from casman.db.parts import part_exists

    parsed = parse_part(part)
    with open_db() as conn:
        found = chain_through(conn, parsed.part_number)
        known = part_exists(conn, parsed.part_number) or len(found.parts) > 1
    if not known:
        from casman.errors import CasmanError

        raise CasmanError(f"part {parsed.part_number} does not exist")
    if as_json:
        from casman.documents import chain_document

        print_json(chain_document(found))
        return
    for line in format_chain(found):
        click.echo(line)


@assembly.command("history", short_help="Every connect and disconnect of a part.")
@click.argument("part", shell_complete=complete_part)
@json_option
def history(part: str, as_json: bool) -> None:
    """Every connect/disconnect event involving PART, oldest first."""
    from casman.db.assembly import history as part_history

    parsed = parse_part(part)
    with open_db() as conn:
        events = part_history(conn, parsed.part_number)
    if as_json:
        from casman.documents import event_document

        print_json([event_document(event) for event in events])
        return
    if not events:
        click.echo(f"No events for {parsed.part_number}.")
        return
    print_table(
        ["TIME", "EVENT", "SOURCE", "TARGET"],
        [(e.scan_time, e.connection_status, e.part_number, e.connected_to) for e in events],
    )


@assembly.command("remove", short_help="Take a part out of service: end its links.")
@click.argument("part", shell_complete=complete_part)
@writes_database
def remove(part: str) -> None:
    """Take PART out of service: disconnect every live link it has (recorded as events)."""
    from casman.db.assembly import take_out_of_service

    parsed = parse_part(part)
    with open_db() as conn:
        ended = take_out_of_service(conn, parsed)
    for source, target in ended:
        click.echo(f"Disconnected {source} ↛ {target}")
    click.echo(f"{parsed.part_number} is out of service ({len(ended)} link(s) ended)")


@assembly.command("chains", short_help="Every chain, with the problems found.")
@click.option("--incomplete", is_flag=True, help="Only chains that are incomplete or break a rule.")
@json_option
def chains(incomplete: bool, as_json: bool) -> None:
    """Every chain of the array, with the problems the web page highlights."""
    from casman.db.chains import all_chains

    with open_db() as conn:
        found = all_chains(conn)
    if incomplete:
        found = [chain for chain in found if chain.problems]
    if as_json:
        from casman.documents import chain_document

        print_json([chain_document(chain) for chain in found])
        return
    if not found:
        click.echo("No chains." if not incomplete else "No incomplete chains.")
        return
    for chain in found:
        mark = "✗" if chain.problems else "✓"
        click.echo(f"{mark} {' → '.join(chain.parts)}")
        for problem in chain.problems:
            click.echo(f"    {problem}")
    bad = sum(1 for chain in found if chain.problems)
    click.echo(f"{len(found)} chain(s), {bad} incomplete or breaking a rule")
