"""``casman snap``: SNAP boards, their 12 ports and packet indices."""

from __future__ import annotations

import click

from casman.cli.common import json_option, open_db, print_json, print_table
from casman.domain.snap import parse_board


@click.group()
def snap() -> None:
    """Show SNAP boards, their ports and packet indices."""


@snap.command("show")
@click.argument("board")
@json_option
def show(board: str, as_json: bool) -> None:
    """Show BOARD (e.g. SNAP1A): serial, MAC, IP, feng id and what reaches each port."""
    from casman.db.lookups import board_report

    board_id = parse_board(board)
    with open_db() as conn:
        report = board_report(conn, board_id)
    if as_json:
        print_json(report)
        return
    config = report["config"]
    if config is None:
        click.echo(
            f"{report['board']}: not configured (load it with `casman database load-snap-boards`)"
        )
    else:
        click.echo(
            f"{report['board']}: serial {config['serial_number']}, MAC {config['mac_address']}, "
            f"IP {config['ip_address']}, feng_id {config['feng_id']}"
        )
    print_table(
        ["PORT", "SNAP PORT", "PACKET", "ANTENNA", "GRID", "FROM"],
        [
            (
                p["port"],
                p["snap_port_name"],
                p["packet_index"],
                p["antenna"],
                p["grid_code"],
                p["connected_from"],
            )
            for p in report["ports"]
        ],
    )


from casman.cli.snap_tools_cmd import generate_csv  # noqa: E402

snap.add_command(generate_csv)
