"""Human-readable renderings shared by several commands."""

from __future__ import annotations

import re
from typing import Any

from casman.db.chains import Chain


def format_chain(chain: Chain) -> list[str]:
    lines = [" → ".join(chain.parts)]
    if chain.snap_port is not None:
        port = chain.snap_port
        if chain.board is not None:
            board = chain.board
            lines.append(
                f"SNAP {port.field_name} ({port.part_number}): board {board.board.name} "
                f"serial {board.serial_number}, feng_id {board.feng_id}, "
                f"port {port.port}, packet index {chain.packet_index}"
            )
        else:
            lines.append(
                f"SNAP {port.field_name} ({port.part_number}): board {port.board.name} is not "
                "configured; load it with `casman database load-snap-boards`"
            )
    if not chain.complete:
        lines.append("(incomplete chain: it does not yet run from an ANTENNA to a SNAP port)")
    return lines


def format_signal(polarization: str, info: dict[str, Any]) -> str:
    if info["snap_port"] is None:
        parts = " → ".join(info["parts"])
        return f"  {polarization}: not connected to a SNAP port ({parts})"
    board = info["board"]
    where = f"{info['snap_port_name']} ({info['snap_port']})"
    if board is None:
        return f"  {polarization}: {where}, board not configured"
    return (
        f"  {polarization}: {where}, board serial {board['serial_number']}, "
        f"feng_id {board['feng_id']}, packet index {info['packet_index']}"
    )


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(value: object) -> str:
    """Text from outside casman (remote metadata, file content) made safe for a terminal.

    Control characters (ESC sequences that could rewrite the screen, bidirectional
    overrides, newlines that could fake a line of output) are shown as ``?``.
    """
    return _CONTROL.sub("?", str(value))
