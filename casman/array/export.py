"""The packet-index map for the correlator and pipelines, as CSV or JSON.

One row per SNAP input, in packet-index order, with the columns of
:data:`casman.array.PACKET_MAP_COLUMNS` in that order, always: a pipeline may read the
CSV by position. Empty values are empty CSV fields and JSON ``null``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from casman.array.values import PACKET_MAP_COLUMNS, Port

__all__ = ["packet_map_csv", "packet_map_json", "packet_map_rows"]


def packet_map_rows(ports: Iterable[Port]) -> list[dict[str, Any]]:
    """``Array.packet_map()`` as plain rows (dicts in column order)."""
    return [port.as_row() for port in ports]


def packet_map_csv(ports: Iterable[Port]) -> str:
    """The map as CSV text with a header line (``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PACKET_MAP_COLUMNS)
    for row in packet_map_rows(ports):
        writer.writerow("" if row[column] is None else row[column] for column in PACKET_MAP_COLUMNS)
    return buffer.getvalue()


def packet_map_json(ports: Iterable[Port]) -> str:
    """The map as a JSON list of objects, keys in column order."""
    return json.dumps(packet_map_rows(ports), indent=2, ensure_ascii=False) + "\n"
