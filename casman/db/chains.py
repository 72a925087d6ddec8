"""Signal chains: ANTENNA → LNA → COAXSHORT → COAXLONG → BACBOARD → SNAP port.

Two ways to the same chains, both derived from the append-only log, never stored:

* around given parts (:func:`chain_through`, :func:`chains_through`): a walk through the
  indexes with :class:`~casman.db.assembly.LinkReader`, whose cost is proportional to the
  chain's length and flat in the size of the log; every CLI lookup and web search uses it;
* the whole array (:func:`all_chains`, :func:`chain_index`): one scan of the log and a walk
  in memory, for the views that list or count every chain.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Protocol

from casman.db.assembly import ActiveLinks, LinkReader, active_links
from casman.db.snap_boards import all_boards, get_board
from casman.domain.connections import Part, check_pair_shape, parse_part
from casman.domain.errors import DomainError
from casman.domain.parts import CHAIN_ORDER, PartType
from casman.domain.snap import SnapBoard, SnapBoardId, SnapPort

# hoisted: an Enum property costs a microsecond, and the index asks ~100,000 times
_ANT, _SNAP, _CHAIN_LENGTH = PartType.ANTENNA.prefix, PartType.SNAP.prefix, len(CHAIN_ORDER)


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

    @cached_property
    def problems(self) -> list[str]:
        """Why a chain is not a valid full chain (for highlighting).

        Computed once per chain object: parsing every part is the expensive step, and a
        page asks for the list, its length and its truth more than once.
        """
        parsed: list[Part | DomainError] = []
        for part in self.parts:  # each part once, though most sit in two pairs
            try:
                parsed.append(parse_part(part))
            except DomainError as error:
                parsed.append(error)
        found = []
        for source, target in itertools.pairwise(parsed):
            # the first failure wins, as in check_pair_shape(parse_part(s), parse_part(t))
            if isinstance(source, DomainError) or isinstance(target, DomainError):
                found.append(str(source if isinstance(source, DomainError) else target))
                continue
            try:
                check_pair_shape(source, target)
            except DomainError as error:
                found.append(str(error))
        if not self.complete:
            found.append("incomplete chain (does not run from an ANTENNA to a SNAP port)")
        if self.snap_port is not None and self.board is None:
            found.append(f"no SNAP board configured at {self.snap_port.board.name}")
        return found

    @property
    def has_problems(self) -> bool:
        """``bool(self.problems)`` without parsing a chain that is incomplete anyway.

        Only complete chains (at most one per SNAP port) need their parts parsed, which
        keeps counting the problems of every chain cheap at any size of the array.
        """
        return not self.complete or bool(self.problems)


class LinkSource(Protocol):
    """Current links: :class:`~casman.db.assembly.ActiveLinks` (all) or a ``LinkReader``."""

    def outgoing(self, part: str) -> str | None: ...

    def incoming(self, part: str) -> str | None: ...


def walk_links(links: LinkSource, start: str) -> tuple[str, ...]:
    """The chain through ``start``: back to its head, then forward (stopping at a cycle)."""
    head = start
    seen = {head}
    while (previous := links.incoming(head)) is not None and previous not in seen:
        head = previous
        seen.add(head)
    parts = [head]
    visited = {head}
    while (following := links.outgoing(parts[-1])) is not None and following not in visited:
        parts.append(following)
        visited.add(following)
    return tuple(parts)


def walk_many(reader: LinkReader, starts: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """:func:`walk_links` from each start, reading the indexes a level at a time.

    The reader first follows every start back to its head and then forward to its end in
    lock-step, two batched queries per level (five levels each way for a full chain), so
    that walking from the 528 ports of the array costs a couple of dozen queries rather
    than thousands; the walks themselves are then the ordinary :func:`walk_links`, so the
    answer is exactly the same.
    """
    wanted = list(dict.fromkeys(starts))
    for step, side in ((reader.incoming, "in"), (reader.outgoing, "out")):
        seen = set(wanted)
        frontier = set(wanted)
        while frontier:
            reader.prefetch_links(side, frontier)
            frontier = {p for part in frontier if (p := step(part)) is not None} - seen
            seen |= frontier
    return {start: walk_links(reader, start) for start in wanted}


@lru_cache(maxsize=4096)
def snap_port_of(part: str) -> SnapPort | None:
    """The SNAP port a chain's last part names, if it is one (parsed once per process:
    there are only 528 ports, and a listing of every chain would parse each again)."""
    if not part.startswith(PartType.SNAP.prefix):
        return None
    try:
        parsed = parse_part(part)
    except DomainError:
        return None
    return parsed if isinstance(parsed, SnapPort) else None


def build_chain(parts: tuple[str, ...], boards: Mapping[SnapBoardId, SnapBoard]) -> Chain:
    tail = parts[-1]
    port = snap_port_of(tail) if tail.startswith(_SNAP) else None
    board = boards.get(port.board) if port is not None else None
    return Chain(parts, port, board)


def boards_for(
    conn: sqlite3.Connection, walks: Iterable[tuple[str, ...]]
) -> dict[SnapBoardId, SnapBoard]:
    """The configured boards that the walks' SNAP ports belong to (one query per board)."""
    found: dict[SnapBoardId, SnapBoard] = {}
    for board_id in sorted({port.board for parts in walks if (port := snap_port_of(parts[-1]))}):
        board = get_board(conn, board_id)
        if board is not None:
            found[board_id] = board
    return found


def chain_through(conn: sqlite3.Connection, part_number: str) -> Chain:
    """The chain PART belongs to (just PART when it is not connected).

    Reads only this chain's events through the indexes: O(chain length) queries, all
    on one snapshot so a scan committed meanwhile cannot split the walk.
    """
    with read_snapshot(conn):
        parts = walk_links(LinkReader(conn), part_number)
        return build_chain(parts, boards_for(conn, [parts]))


def chains_through(conn: sqlite3.Connection, part_numbers: Iterable[str]) -> list[Chain]:
    """The chains :func:`all_chains` lists that contain any of ``part_numbers``, by head.

    A part that is not connected, or only sits on a cycle (which has no head), is in none.
    """
    with read_snapshot(conn):
        reader = LinkReader(conn)
        walks = walk_many(reader, part_numbers)
        heads = {
            parts[0]: parts
            for parts in walks.values()
            if len(parts) > 1 and reader.incoming(parts[0]) is None
        }
        boards = boards_for(conn, heads.values())
    return [build_chain(heads[head], boards) for head in sorted(heads)]


@contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run several reads on one snapshot (a read transaction) unless one is already open."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def _head_walks(links: ActiveLinks) -> list[tuple[str, ...]]:
    """``walk_links(links, head)`` for every head (a part that feeds one and is fed by
    none), by head: the same walks, as one tight loop over the dictionaries.

    From a head a walk never comes back on itself (each part has at most one feeder and
    the head has none), so no visited set is needed.
    """
    forward, backward = links.forward, links.backward
    walks = []
    for head in sorted(source for source in forward if source not in backward):
        parts = [head]
        following = forward.get(head)
        while following is not None:
            parts.append(following)
            following = forward.get(following)
        walks.append(tuple(parts))
    return walks


def _may_be_complete(parts: tuple[str, ...]) -> bool:
    """False for most chains without building them: ``Chain.complete`` needs six parts
    from an ANTENNA to a part named like a SNAP port."""
    return len(parts) == _CHAIN_LENGTH and parts[0].startswith(_ANT) and parts[-1].startswith(_SNAP)


@dataclass(frozen=True)
class ChainIndex:
    """Every chain in head order, with the counts the pages show, from one snapshot.

    Holds the walks, not :class:`Chain` objects: :meth:`chains` builds only the slice a
    page shows. Only chains that may be complete (at most one per SNAP port) are built to
    count, since every other chain is incomplete and so has a problem. ``port_walks`` maps
    each SNAP port something feeds to ``walk_links`` from it (what the SNAP page shows),
    ``reaching`` holds the antennas with a complete chain. Building the index is a
    whole-log computation; the web view keeps one per database state (see
    :mod:`casman.web.chain_cache`), so that a page or a count then costs next to nothing.
    """

    walks: tuple[tuple[str, ...], ...]
    boards: Mapping[SnapBoardId, SnapBoard]
    complete: int
    with_problems: int
    port_walks: Mapping[str, tuple[str, ...]]
    reaching: frozenset[str]

    def __len__(self) -> int:
        return len(self.walks)

    def chains(self, start: int = 0, stop: int | None = None) -> list[Chain]:
        """The chains ``start``…``stop`` (slice bounds) in head order."""
        return [build_chain(parts, self.boards) for parts in self.walks[start:stop]]


def chain_index(conn: sqlite3.Connection) -> ChainIndex:
    """Every chain, its counts and the walks from each fed SNAP port, from one snapshot."""
    with read_snapshot(conn):
        links = active_links(conn)
        boards = all_boards(conn)
    walks = tuple(_head_walks(links))
    complete = [
        chain
        for chain in (build_chain(parts, boards) for parts in walks if _may_be_complete(parts))
        if chain.complete
    ]
    return ChainIndex(
        walks,
        boards,
        complete=len(complete),
        with_problems=len(walks) - sum(1 for chain in complete if not chain.problems),
        port_walks={
            target: walk_links(links, target)
            for target in links.backward
            if isinstance(target, str) and target.startswith(_SNAP)
        },
        reaching=frozenset(chain.parts[0] for chain in complete),
    )


def all_chains(conn: sqlite3.Connection) -> list[Chain]:
    """Every chain of two or more parts, ordered by its first part (one scan of the log)."""
    return chain_index(conn).chains()


def chains_by_snap_port(conn: sqlite3.Connection) -> dict[str, Chain]:
    return {
        chain.snap_port.part_number: chain
        for chain in all_chains(conn)
        if chain.snap_port is not None
    }
