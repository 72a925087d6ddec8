"""The :class:`Array`: one consistent, read-only snapshot of both databases in memory.

Why a snapshot rather than a live connection: a pipeline asks thousands of questions
(every packet index of every integration), and each answer must agree with the others.
Reading the whole array once, inside one read transaction of a ``mode=ro`` connection
(:func:`casman.db.readonly.open_read_only`), gives both: every answer comes from the same
moment, lookups are dictionary reads, and no connection, lock or read transaction is held
afterwards, so technicians' scans and the sync engine never wait for a pipeline. The whole
build-out is a few thousand rows; reading it takes milliseconds. Call
:func:`casman.open_array` again to see later changes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from casman.array.follow import FollowReport
from casman.array.values import Antenna, Board, Coordinates, Port, SignalChain
from casman.db.assembly import ActiveLinks, active_links
from casman.db.chains import Chain, build_chain, walk_links
from casman.db.positions import AntennaPosition, all_coordinates, all_positions
from casman.db.readonly import open_read_only
from casman.db.snap_boards import all_boards
from casman.domain.connections import parse_part
from casman.domain.errors import DomainError
from casman.domain.grid import normalise_antenna_number, parse_grid_code
from casman.domain.kernel import CORE_ARRAY, KernelIndex
from casman.domain.parts import PartType
from casman.domain.snap import (
    PORTS_PER_BOARD,
    SnapBoard,
    SnapBoardId,
    SnapPort,
    parse_board,
    port_for_packet_index,
)
from casman.domain.timestamps import now_iso
from casman.errors import CasmanError

__all__ = ["Array", "ArrayLookupError", "Snapshot", "read_array", "read_snapshot"]


class ArrayLookupError(CasmanError, LookupError):
    """A well-formed question about something the array does not hold.

    A ``LookupError`` (like ``KeyError``), so ``except LookupError`` works; its message is
    one line saying what is missing. Malformed input (``"ANT1"``, packet index 9999) raises
    casman's domain errors instead, which are :class:`casman.errors.CasmanError` too.
    """


def _polarization_of(parts: tuple[str, ...]) -> str | None:
    try:
        return parse_part(parts[0]).polarization
    except DomainError:
        return None


def _signal(chain: Chain) -> SignalChain:
    port = chain.snap_port
    board = chain.board
    return SignalChain(
        parts=tuple(chain.parts),
        antenna=chain.antenna,
        polarization=_polarization_of(chain.parts),
        complete=chain.complete,
        snap_port=port.part_number if port else None,
        snap_port_name=port.field_name if port else None,
        board=port.board.name if port else None,
        port=port.port if port else None,
        feng_id=board.feng_id if board else None,
        packet_index=chain.packet_index,
        problems=tuple(chain.problems),
    )


class Array:
    """The CASM array as it was when opened: antennas, grid positions, chains, SNAP boards.

    Made by :func:`casman.open_array`. Read-only and immutable: it holds no database
    connection. Iterating yields every antenna (``Antenna``) in number order; ``len()`` is
    how many antennas exist. Lookups raise :class:`ArrayLookupError` for things the array
    does not hold and casman's domain errors for malformed input.
    """

    def __init__(
        self,
        *,
        database_dir: Path,
        kernel: KernelIndex,
        snapshot: Snapshot,
        opened_at: str,
        sync: FollowReport | None = None,
    ) -> None:
        self.database_dir = database_dir
        """The directory whose ``parts.db`` and ``assembled_casm.db`` were read."""
        self.kernel = kernel
        """The kernel layouts in force (from config, else the deployed core's)."""
        self.opened_at = opened_at
        """When the snapshot was read (ISO 8601 UTC)."""
        self.sync = sync
        """What following the backend did before the read (None when it is off)."""
        self._links = snapshot.links
        self._boards = dict(snapshot.boards)
        self._by_feng = {board.feng_id: board for board in snapshot.boards.values()}
        self._positions = {p.antenna_number: p for p in snapshot.positions}
        self._by_grid_code = {p.grid_code: p for p in snapshot.positions}
        self._coordinates = dict(snapshot.coordinates)
        self._parts = snapshot.parts
        self._antenna_numbers = tuple(
            sorted(
                {part[:8] for part in snapshot.parts if part.startswith(PartType.ANTENNA.prefix)}
            )
        )
        self._antennas: dict[str, Antenna] = {}

    def __repr__(self) -> str:
        return (
            f"<casman.Array {self.database_dir} opened {self.opened_at}: "
            f"{len(self)} antennas, {len(self._positions)} placed, {len(self._boards)} boards>"
        )

    # -- iteration -------------------------------------------------------------------

    def __iter__(self) -> Iterator[Antenna]:
        return iter(self.antennas())

    def __len__(self) -> int:
        return len(self._antenna_numbers)

    def __contains__(self, antenna_number: object) -> bool:
        if not isinstance(antenna_number, str):
            return False
        try:
            return normalise_antenna_number(antenna_number) in self._antenna_numbers
        except DomainError:
            return False

    def antennas(self) -> tuple[Antenna, ...]:
        """Every antenna that exists as a part, assigned to a position or not, by number."""
        return tuple(self._antenna(number) for number in self._antenna_numbers)

    # -- questions -------------------------------------------------------------------

    def antenna(self, number: str) -> Antenna:
        """``"ANT00001"`` (or ``"ANT00001P1"``) → the antenna, its position and signals."""
        base = normalise_antenna_number(number)
        if base not in self._antenna_numbers:
            raise ArrayLookupError(f"antenna {base} does not exist")
        return self._antenna(base)

    def at(self, grid_code: str) -> Antenna:
        """The antenna assigned to a grid position, e.g. ``"CN002E03"``."""
        code = parse_grid_code(grid_code).grid_code
        placed = self._by_grid_code.get(code)
        if placed is None:
            raise ArrayLookupError(f"{code}: no antenna assigned")
        return self._antenna(placed.antenna_number)

    def by_packet_index(self, index: int) -> Port:
        """The SNAP input with packet index ``index`` (``feng_id × 12 + port``, 0–527).

        The answer's ``antenna`` is None when no antenna's signal reaches that port; a
        packet index whose feng id no configured board has is an :class:`ArrayLookupError`.
        """
        feng_id, number = port_for_packet_index(index)
        board = self._by_feng.get(feng_id)
        if board is None:
            raise ArrayLookupError(f"packet index {index}: no SNAP board has feng_id {feng_id}")
        return self._port(board.board, number)

    def by_kernel_index(self, index: int, array_id: str = CORE_ARRAY) -> Antenna:
        """The antenna at the position kernel input ``index`` of ``array_id`` comes from.

        An index the kernel does not map raises
        :class:`casman.domain.kernel.KernelIndexError`; a mapped position with no antenna
        raises :class:`ArrayLookupError`.
        """
        position = self.kernel.position_of(index, array_id)
        placed = self._by_grid_code.get(position.grid_code)
        if placed is None:
            raise ArrayLookupError(
                f"kernel index {index} is {position.grid_code}: no antenna assigned"
            )
        return self._antenna(placed.antenna_number)

    def chain(self, part_number: str) -> SignalChain:
        """The chain through any part: ``"LNA00001P1"``, ``"SNAP1A05"``, ``"SNAP010105"``.

        A part that exists but is connected to nothing is a chain of one part; an unknown
        part is an :class:`ArrayLookupError` (a SNAP port is always known: DESIGN.md rule 4).
        """
        part = parse_part(part_number)
        number = part.part_number
        if not isinstance(part, SnapPort) and number not in self._parts:
            raise ArrayLookupError(f"part {number} does not exist")
        return _signal(build_chain(walk_links(self._links, number), self._boards))

    def snap_board(self, name: str) -> Board:
        """``"SNAP1A"`` (or ``"1A"``) → the board's configuration and its 12 ports."""
        board_id = parse_board(name)
        board = self._boards.get(board_id)
        ports = tuple(self._port(board_id, number) for number in range(PORTS_PER_BOARD))
        if board is None and not any(port.chain is not None for port in ports):
            raise ArrayLookupError(
                f"board {board_id.name} is not configured and nothing is connected to it"
            )
        return Board(
            name=board_id.name,
            chassis=board_id.chassis,
            slot=board_id.slot,
            configured=board is not None,
            serial_number=board.serial_number if board else None,
            mac_address=board.mac_address if board else None,
            ip_address=board.ip_address if board else None,
            feng_id=board.feng_id if board else None,
            notes=(board.notes or None) if board else None,
            ports=ports,
        )

    def packet_map(self, *, include_unconnected: bool = False) -> tuple[Port, ...]:
        """Every SNAP input that an antenna's signal reaches, in packet-index order.

        ``include_unconnected`` adds every other port of every configured board (with
        ``antenna`` None), so the map covers all of the correlator's configured inputs.
        Ports of unconfigured boards have no packet index and are never listed.
        """
        inputs = [
            self._port(board.board, number)
            for board in sorted(self._boards.values(), key=lambda b: b.feng_id)
            for number in range(PORTS_PER_BOARD)
        ]
        return tuple(port for port in inputs if include_unconnected or port.connected)

    def kernel_index(self, grid_code: str) -> int | None:
        """The kernel index of a grid position (None where the kernel does not map it)."""
        return self.kernel.index_of(parse_grid_code(grid_code))

    def grid_code_for_kernel_index(self, index: int, array_id: str = CORE_ARRAY) -> str:
        """The grid code kernel input ``index`` of ``array_id`` comes from."""
        return self.kernel.position_of(index, array_id).grid_code

    # -- building values -------------------------------------------------------------

    def _antenna(self, number: str) -> Antenna:
        cached = self._antennas.get(number)
        if cached is not None:
            return cached
        placed = self._positions.get(number)
        kernel_index: int | None = None
        note: str | None = f"{number} is not assigned to a grid position"
        coordinates: Coordinates | None = None
        if placed is not None:
            position = parse_grid_code(placed.grid_code)
            kernel_index = self.kernel.index_of(position)
            note = self.kernel.unmapped(position)
            coordinates = self._coordinates.get(placed.grid_code) or (
                Coordinates(
                    placed.latitude, placed.longitude, placed.height, placed.coordinate_system
                )
                if placed.latitude is not None or placed.longitude is not None
                else None
            )
        p1, p2 = (self._antenna_signal(number + pol) for pol in ("P1", "P2"))
        antenna = Antenna(
            number=number,
            grid_code=placed.grid_code if placed else None,
            kernel_index=kernel_index,
            kernel_index_note=note,
            coordinates=coordinates,
            p1=p1,
            p2=p2,
        )
        self._antennas[number] = antenna
        return antenna

    def _antenna_signal(self, part_number: str) -> SignalChain:
        signal = _signal(build_chain(walk_links(self._links, part_number), self._boards))
        if part_number in self._parts:
            return signal
        # e.g. only ANT00001P1 was ever added: say so rather than "incomplete"
        return replace(signal, problems=(f"{part_number} does not exist",))

    def _port(self, board_id: SnapBoardId, number: int) -> Port:
        board = self._boards.get(board_id)
        port = board_id.port(number)
        chain: SignalChain | None = None
        antenna: Antenna | None = None
        if port.part_number in self._links.backward:
            chain = _signal(build_chain(walk_links(self._links, port.part_number), self._boards))
            if chain.antenna is not None:
                antenna = self._antenna(chain.antenna[:8])
        return Port(
            board=board_id.name,
            port=number,
            snap_port=port.part_number,
            snap_port_name=port.field_name,
            feng_id=board.feng_id if board else None,
            packet_index=board.packet_index(number) if board else None,
            chain=chain,
            antenna=antenna,
            polarization=chain.polarization if antenna and chain else None,
        )


@dataclass(frozen=True)
class Snapshot:
    """The rows an :class:`Array` is built from, read in one transaction."""

    links: ActiveLinks
    boards: Mapping[SnapBoardId, SnapBoard]
    positions: list[AntennaPosition]
    coordinates: Mapping[str, Coordinates]
    parts: frozenset[str]


def read_snapshot(conn: sqlite3.Connection) -> Snapshot:
    """Everything the Array needs, in one read transaction (a consistent snapshot).

    The connection is in autocommit mode, so ``BEGIN`` … ``COMMIT`` is what makes the
    five reads see one moment; in WAL mode this read transaction never blocks a writer.
    """
    conn.execute("BEGIN")
    try:
        return Snapshot(
            links=active_links(conn),
            boards=all_boards(conn),
            positions=all_positions(conn),
            coordinates={
                code: Coordinates(c.latitude, c.longitude, c.height, c.coordinate_system)
                for code, c in all_coordinates(conn).items()
            },
            parts=frozenset(row[0] for row in conn.execute("SELECT part_number FROM parts")),
        )
    finally:
        conn.execute("COMMIT")


def read_array(directory: Path, kernel: KernelIndex, sync: FollowReport | None = None) -> Array:
    """Read the databases in ``directory`` (``mode=ro``) into an :class:`Array`."""
    conn = open_read_only(directory)
    try:
        opened_at = now_iso()
        snapshot = read_snapshot(conn)
    finally:
        conn.close()
    return Array(
        database_dir=directory, kernel=kernel, snapshot=snapshot, opened_at=opened_at, sync=sync
    )
