"""``casman antenna``: grid positions of antennas and what their signals reach."""

from __future__ import annotations

import click

from casman.cli.common import get_config, json_option, open_db, print_json, print_table
from casman.cli.output import format_signal
from casman.domain.grid import geometry_from_config, normalise_antenna_number, parse_grid_code


@click.group()
def antenna() -> None:
    """Assign antennas to grid positions and look them up."""


@antenna.command("assign")
@click.argument("antenna_number", metavar="ANTENNA")
@click.argument("grid_code")
@click.option("--force", is_flag=True, help="Move the antenna if it is already placed elsewhere.")
@click.option("--notes", help="A note stored with the assignment.")
def assign(antenna_number: str, grid_code: str, force: bool, notes: str | None) -> None:
    """Place ANTENNA (ANT00001 or ANT00001P1) at GRID_CODE (e.g. CN002E03)."""
    from casman.db.positions import assign as assign_position
    from casman.sync.triggers import after_change

    number = normalise_antenna_number(antenna_number)
    position = parse_grid_code(grid_code)
    geometry = geometry_from_config(get_config().section("grid"))
    with open_db() as conn:
        placed = assign_position(
            conn, number, position, force=force, notes=notes, geometry=geometry
        )
    where = (
        f" ({placed.latitude:.6f}, {placed.longitude:.6f})"
        if placed.latitude is not None and placed.longitude is not None
        else ""
    )
    click.echo(f"Assigned {placed.antenna_number} to {placed.grid_code}{where}")
    after_change("assign")


@antenna.command("remove")
@click.argument("antenna_number", metavar="ANTENNA")
def remove(antenna_number: str) -> None:
    """Free the grid position of ANTENNA."""
    from casman.db.positions import remove as remove_position
    from casman.sync.triggers import after_change

    number = normalise_antenna_number(antenna_number)
    with open_db() as conn:
        removed = remove_position(conn, number)
    click.echo(f"Removed {removed.antenna_number} from {removed.grid_code}")
    after_change("remove")


@antenna.command("show")
@click.argument("query", metavar="ANTENNA_OR_GRID_CODE")
@json_option
def show(query: str, as_json: bool) -> None:
    """Position, coordinates, and the SNAP port and packet index of P1 and P2."""
    from casman.db.lookups import antenna_report

    with open_db() as conn:
        report = antenna_report(conn, query)
    if as_json:
        print_json(report)
        return
    if report["antenna_number"] is None:
        click.echo(f"{report['grid_code']}: no antenna assigned")
    else:
        place = report["grid_code"] or "not assigned to a grid position"
        click.echo(f"{report['antenna_number']} at {place}")
    coordinates = report["coordinates"]
    if coordinates:
        click.echo(
            f"  coordinates: lat {coordinates['latitude']}, lon {coordinates['longitude']}, "
            f"height {coordinates['height']} m ({coordinates['coordinate_system']})"
        )
    for polarization, info in report["signals"].items():
        click.echo(format_signal(polarization, info))


@antenna.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Every assigned antenna with its grid position."""
    from casman.db.lookups import position_info
    from casman.db.positions import all_positions

    with open_db() as conn:
        positions = all_positions(conn)
    if as_json:
        print_json([position_info(p) for p in positions])
        return
    if not positions:
        click.echo("No antennas assigned.")
        return
    print_table(
        ["ANTENNA", "GRID", "LATITUDE", "LONGITUDE", "ASSIGNED"],
        [
            (p.antenna_number, p.grid_code, p.latitude, p.longitude, p.assigned_at)
            for p in positions
        ],
    )
    click.echo(f"{len(positions)} antenna(s) assigned")


from casman.cli.antenna_tools_cmd import generate_coordinates, plot  # noqa: E402

antenna.add_command(plot)
antenna.add_command(generate_coordinates)
