"""``casman snap``: SNAP boards, their 12 ports and packet indices."""

from __future__ import annotations

import click

from casman.cli.common import json_option, open_db, print_json, print_table
from casman.cli.completion import complete_board
from casman.domain.snap import parse_board


@click.group()
def snap() -> None:
    """Show SNAP boards, their ports and packet indices."""


@snap.command("show", short_help="A board's settings and what reaches each port.")
@click.argument("board", shell_complete=complete_board)
@json_option
def show(board: str, as_json: bool) -> None:
    """Show BOARD (e.g. SNAP1A): serial, MAC, IP, feng id and what reaches each port.

    The --json document is the one /api/board/BOARD of `casman web` answers.
    """
    from casman.documents import board_document

    board_id = parse_board(board)
    with open_db() as conn:
        report = board_document(conn, board_id)
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


@snap.command("list", short_help="Every loaded SNAP board and its settings.")
@json_option
def list_(as_json: bool) -> None:
    """Every SNAP board loaded with `casman database load-snap-boards`, by feng id.

    Each --json item is the board configuration that `snap show --json` calls "config".
    """
    from casman.db.snap_boards import all_boards
    from casman.documents import board_config_document

    with open_db() as conn:
        boards = sorted(all_boards(conn).values(), key=lambda board: board.feng_id)
    if as_json:
        print_json([board_config_document(board) for board in boards])
        return
    if not boards:
        click.echo("No SNAP boards loaded; load them with `casman database load-snap-boards`.")
        return
    print_table(
        ["BOARD", "FENG", "SERIAL", "MAC", "IP"],
        [(b.board.name, b.feng_id, b.serial_number, b.mac_address, b.ip_address) for b in boards],
    )
    click.echo(f"{len(boards)} board(s)")


from casman.cli.snap_tools_cmd import generate_csv  # noqa: E402

snap.add_command(generate_csv)
