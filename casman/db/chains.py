"""Signal chains: ANTENNA → LNA → COAXSHORT → COAXLONG → BACBOARD → SNAP port.

Chains are derived from the active links in memory (one scan of the log), which keeps
"every chain of the array" a single query plus a walk, well under a second at 10× the
full build-out.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from casman.db.assembly import ActiveLinks, active_links
from casman.db.snap_boards import all_boards
from casman.domain.connections import check_pair_shape, parse_part
from casman.domain.errors import DomainError
from casman.domain.parts import CHAIN_ORDER, PartType
from casman.domain.snap import SnapBoard, SnapBoardId, SnapPort


@dataclass(frozen=True)
class Chain:
    """A run of connected parts; ``complete`` when it spans ANTENNA to a SNAP port."""

    parts: tuple[str, ...]
    snap_port: SnapPort | None
    board: SnapBoard | None

    @property
    def complete(self) -> bool:
        return (
            len(self.parts) == len(CHAIN_ORDER)
            and self.parts[0].startswith(PartType.ANTENNA.prefix)
            and self.snap_port is not None
        )

    @property
    def packet_index(self) -> int | None:
        if self.snap_port is None or self.board is None:
            return None
        return self.board.packet_index(self.snap_port.port)

    @property
    def antenna(self) -> str | None:
        head = self.parts[0]
        return head if head.startswith(PartType.ANTENNA.prefix) else None

    @property
    def problems(self) -> list[str]:
        """Why a chain is not a valid full chain (for highlighting)."""
        found = []
        for source, target in zip(self.parts, self.parts[1:], strict=False):
            try:
                check_pair_shape(parse_part(source), parse_part(target))
            except DomainError as error:
                found.append(str(error))
        if not self.complete:
            found.append("incomplete chain (does not run from an ANTENNA to a SNAP port)")
        if self.snap_port is not None and self.board is None:
            found.append(f"no SNAP board configured at {self.snap_port.board.name}")
        return found


def walk_links(links: ActiveLinks, start: str) -> tuple[str, ...]:
    head = start
    seen = {head}
    while head in links.backward and links.backward[head] not in seen:
        head = links.backward[head]
        seen.add(head)
    parts = [head]
    visited = {head}
    while parts[-1] in links.forward and links.forward[parts[-1]] not in visited:
        parts.append(links.forward[parts[-1]])
        visited.add(parts[-1])
    return tuple(parts)


def build_chain(parts: tuple[str, ...], boards: dict[SnapBoardId, SnapBoard]) -> Chain:
    port: SnapPort | None = None
    if parts[-1].startswith(PartType.SNAP.prefix):
        try:
            parsed = parse_part(parts[-1])
            port = parsed if isinstance(parsed, SnapPort) else None
        except DomainError:
            port = None
    board = boards.get(port.board) if port is not None else None
    return Chain(parts, port, board)


def chain_through(conn: sqlite3.Connection, part_number: str) -> Chain:
    """The chain PART belongs to (just PART when it is not connected)."""
    return build_chain(walk_links(active_links(conn), part_number), all_boards(conn))


def all_chains(conn: sqlite3.Connection) -> list[Chain]:
    """Every chain of two or more parts, ordered by its first part."""
    links = active_links(conn)
    boards = all_boards(conn)
    heads = sorted(source for source in links.forward if source not in links.backward)
    return [build_chain(walk_links(links, head), boards) for head in heads]


def chains_by_snap_port(conn: sqlite3.Connection) -> dict[str, Chain]:
    return {
        chain.snap_port.part_number: chain
        for chain in all_chains(conn)
        if chain.snap_port is not None
    }
