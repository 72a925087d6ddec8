"""``casman antenna``: grid positions of antennas and what their signals reach."""

from __future__ import annotations

import click

from casman.cli.common import (
    get_config,
    json_option,
    open_db,
    print_json,
    print_table,
    writes_database,
)
from casman.cli.completion import complete_antenna_or_grid_code
from casman.cli.output import format_signal
from casman.domain.grid import geometry_from_config, normalise_antenna_number, parse_grid_code
from casman.domain.kernel import kernel_from_config


@click.group()
def antenna() -> None:
    """Assign antennas to grid positions and look them up."""


@antenna.command("assign", short_help="Place an antenna at a grid position.")
@click.argument("antenna_number", metavar="ANTENNA", shell_complete=complete_antenna_or_grid_code)
@click.argument("grid_code")
@click.option("--force", is_flag=True, help="Move the antenna if it is already placed elsewhere.")
@click.option("--notes", help="A note stored with the assignment.")
@writes_database
def assign(antenna_number: str, grid_code: str, force: bool, notes: str | None) -> None:
    """Place ANTENNA (ANT00001 or ANT00001P1) at GRID_CODE (e.g. CN002E03)."""
    from casman.db.positions import assign as assign_position

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


@antenna.command("remove", short_help="Free the grid position of an antenna.")
@click.argument("antenna_number", metavar="ANTENNA", shell_complete=complete_antenna_or_grid_code)
@writes_database
def remove(antenna_number: str) -> None:
    """Free the grid position of ANTENNA."""
    from casman.db.positions import remove as remove_position

    number = normalise_antenna_number(antenna_number)
    with open_db() as conn:
        removed = remove_position(conn, number)
    click.echo(f"Removed {removed.antenna_number} from {removed.grid_code}")


@antenna.command("show", short_help="An antenna's position, kernel index and signals.")
@click.argument(
    "query", metavar="ANTENNA_OR_GRID_CODE", shell_complete=complete_antenna_or_grid_code
)
@json_option
def show(query: str, as_json: bool) -> None:
    """Position, coordinates, kernel index, and the SNAP port and packet index of P1 and P2.

    The --json document is the one /api/antenna/<ANTENNA_OR_GRID_CODE> of `casman web`
    answers.
    """
    from casman.documents import antenna_document

    kernel = kernel_from_config(get_config().section("grid"))
    with open_db() as conn:
        report = antenna_document(conn, query, kernel)
    if as_json:
        print_json(report)
        return
    if report["antenna_number"] is None:
        click.echo(f"{report['grid_code']}: no antenna assigned")
    else:
        place = f"at {report['grid_code']}" if report["grid_code"] else "(no grid position)"
        click.echo(f"{report['antenna_number']} {place}")
    coordinates = report["coordinates"]
    if coordinates:
        click.echo(
            f"  coordinates: lat {coordinates['latitude']}, lon {coordinates['longitude']}, "
            f"height {coordinates['height']} m ({coordinates['coordinate_system']})"
        )
    if report["kernel_index"] is not None:
        click.echo(f"  kernel index: {report['kernel_index']}")
    else:
        click.echo(f"  kernel index: none ({report['kernel_index_note']})")
    for polarization, info in report["signals"].items():
        click.echo(format_signal(polarization, info))


@antenna.command("list", short_help="Every assigned antenna and its grid position.")
@json_option
def list_(as_json: bool) -> None:
    """Every assigned antenna with its grid position and kernel index."""
    from casman.db.positions import all_positions

    kernel = kernel_from_config(get_config().section("grid"))
    with open_db() as conn:
        positions = all_positions(conn)
    if as_json:
        from casman.documents import position_document

        print_json([position_document(p, kernel) for p in positions])
        return
    if not positions:
        click.echo("No antennas assigned.")
        return
    print_table(
        ["ANTENNA", "GRID", "KERNEL", "LATITUDE", "LONGITUDE", "ASSIGNED"],
        [
            (
                p.antenna_number,
                p.grid_code,
                kernel.index_of(p.grid_code),
                p.latitude,
                p.longitude,
                p.assigned_at,
            )
            for p in positions
        ],
    )
    click.echo(f"{len(positions)} antenna(s) assigned")


@antenna.command("export", short_help="The packet-index map for the correlator.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="CSV with a header line, or a JSON list of objects.",
)
@click.option(
    "--all-ports",
    is_flag=True,
    help="Also list every unconnected port of every configured board (empty antenna).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    help="File to write (default: standard output).",
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def export(fmt: str, all_ports: bool, output: str | None, force: bool) -> None:
    """The packet-index map for the correlator and pipelines.

    One row per SNAP input in packet-index order: packet_index, antenna, polarization,
    grid_code, kernel_index, latitude, longitude, height, coordinate_system, board, port,
    snap_port, feng_id (always these columns, in this order). Reads the databases
    read-only.
    """
    from casman.array import open_array, packet_map_csv, packet_map_json

    config = get_config()
    array = open_array(config.database_dir, config=config, auto_sync=False)
    inputs = array.packet_map(include_unconnected=all_ports)
    text = packet_map_csv(inputs) if fmt == "csv" else packet_map_json(inputs)
    if output is None:
        click.echo(text, nl=False)
        return
    from pathlib import Path

    from casman.userfiles import write_output

    write_output(Path(output), text, force=force)
    click.echo(f"Wrote {len(inputs)} input(s) to {output}")


from casman.cli.antenna_tools_cmd import generate_coordinates, plot  # noqa: E402

antenna.add_command(plot)
antenna.add_command(generate_coordinates)
