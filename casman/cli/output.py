"""Human-readable renderings shared by several commands."""

from __future__ import annotations

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
