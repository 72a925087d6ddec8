"""The answers of the Python API: small frozen values a pipeline can keep, compare and hash.

Every value is a snapshot: it never changes and holds no database connection, so a
pipeline can pass it between threads or keep it for a whole observation. ``str()`` of a
value is the one-line summary a person reads in a log; the fields are what code reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["PACKET_MAP_COLUMNS", "Antenna", "Board", "Coordinates", "Port", "SignalChain"]

PACKET_MAP_COLUMNS: tuple[str, ...] = (
    "packet_index",
    "antenna",
    "polarization",
    "grid_code",
    "kernel_index",
    "latitude",
    "longitude",
    "height",
    "coordinate_system",
    "board",
    "port",
    "snap_port",
    "feng_id",
)
"""The packet map's columns, in their stable order (CSV header, JSON key order)."""


@dataclass(frozen=True)
class Coordinates:
    """Surveyed coordinates of a grid position (they belong to the position, not the antenna)."""

    latitude: float | None
    longitude: float | None
    height: float | None
    coordinate_system: str | None

    def __str__(self) -> str:
        height = f", {self.height} m" if self.height is not None else ""
        system = f" ({self.coordinate_system})" if self.coordinate_system else ""
        return f"lat {self.latitude}, lon {self.longitude}{height}{system}"


@dataclass(frozen=True)
class SignalChain:
    """One run of connected parts, e.g. ANTENNA → LNA → COAXSHORT → COAXLONG → BACBOARD → SNAP.

    The SNAP fields are None when the chain does not end at a SNAP port; ``feng_id`` and
    ``packet_index`` are also None when the port's board is not configured. ``problems``
    says why a chain is not a valid full chain (incomplete, a rule broken by old data, an
    unconfigured board), so a pipeline can flag an input rather than trust it.
    """

    parts: tuple[str, ...]
    antenna: str | None
    """The antenna part at its head, with polarization (``ANT00001P1``), if any."""
    polarization: str | None
    complete: bool
    snap_port: str | None
    """Canonical SNAP port part number, ``SNAP010105``."""
    snap_port_name: str | None
    """The field form, ``SNAP1A05``."""
    board: str | None
    """The board's name, ``SNAP1A``."""
    port: int | None
    feng_id: int | None
    packet_index: int | None
    problems: tuple[str, ...] = ()

    @property
    def connected(self) -> bool:
        """Whether the chain reaches a SNAP port (complete or not)."""
        return self.snap_port is not None

    def __str__(self) -> str:
        path = " → ".join(self.parts)
        if self.snap_port_name is None:
            return f"{path} (not connected to a SNAP port)"
        if self.packet_index is None:
            return f"{path} ({self.snap_port_name}, board {self.board} not configured)"
        return (
            f"{path} ({self.board} port {self.port}, feng id {self.feng_id}, "
            f"packet index {self.packet_index})"
        )


@dataclass(frozen=True)
class Antenna:
    """An antenna with its grid position, coordinates and both polarizations' signals.

    ``grid_code``, ``kernel_index`` and ``coordinates`` are None for an antenna not
    assigned to a grid position; ``kernel_index`` is also None for a position the kernel
    does not map (``kernel_index_note`` then says why, e.g. ``CS021E05``).
    """

    number: str
    """The base number, ``ANT00001``."""
    grid_code: str | None
    kernel_index: int | None
    kernel_index_note: str | None
    coordinates: Coordinates | None
    p1: SignalChain
    p2: SignalChain

    def signal(self, polarization: str) -> SignalChain:
        """``"P1"``/``"P2"`` (also ``1``/``2``) → that polarization's chain."""
        key = str(polarization).strip().upper()
        if key in ("P1", "1"):
            return self.p1
        if key in ("P2", "2"):
            return self.p2
        raise ValueError(f"polarization {polarization!r} is not P1 or P2")

    @property
    def signals(self) -> tuple[SignalChain, SignalChain]:
        return (self.p1, self.p2)

    @property
    def packet_indexes(self) -> tuple[int | None, int | None]:
        """(P1, P2) packet indexes; None where the signal reaches no configured board."""
        return (self.p1.packet_index, self.p2.packet_index)

    def __str__(self) -> str:
        place = f"at {self.grid_code}" if self.grid_code else "(no grid position)"
        kernel = f", kernel index {self.kernel_index}" if self.kernel_index is not None else ""
        pols = "; ".join(
            f"{pol} {_port_text(chain)}" for pol, chain in (("P1", self.p1), ("P2", self.p2))
        )
        return f"{self.number} {place}{kernel}: {pols}"


def _port_text(chain: SignalChain) -> str:
    if chain.snap_port_name is None:
        return "not connected"
    if chain.packet_index is None:
        return f"{chain.snap_port_name} (board not configured)"
    return f"{chain.board} port {chain.port} (packet index {chain.packet_index})"


@dataclass(frozen=True)
class Port:
    """One SNAP input: a board's port, its packet index and the antenna signal it carries.

    ``packet_index`` and ``feng_id`` are None for a board that is not configured.
    ``chain`` is what is connected to the port (None when nothing is); ``antenna`` and
    ``polarization`` are set only when that chain starts at an antenna.
    """

    board: str
    port: int
    snap_port: str
    snap_port_name: str
    feng_id: int | None
    packet_index: int | None
    chain: SignalChain | None
    antenna: Antenna | None
    polarization: str | None

    @property
    def connected(self) -> bool:
        """Whether an antenna's signal reaches this port."""
        return self.antenna is not None

    @property
    def grid_code(self) -> str | None:
        return self.antenna.grid_code if self.antenna else None

    @property
    def kernel_index(self) -> int | None:
        return self.antenna.kernel_index if self.antenna else None

    @property
    def coordinates(self) -> Coordinates | None:
        return self.antenna.coordinates if self.antenna else None

    def __str__(self) -> str:
        where = f"{self.board} port {self.port}"
        ids = (
            f"{self.snap_port_name}, feng id {self.feng_id}, packet index {self.packet_index}"
            if self.packet_index is not None
            else f"{self.snap_port_name}, board not configured"
        )
        if self.antenna is None:
            return f"{where} ({ids}): no antenna connected"
        place = f"at {self.antenna.grid_code}" if self.antenna.grid_code else "(no grid position)"
        kernel = (
            f", kernel index {self.antenna.kernel_index}"
            if self.antenna.kernel_index is not None
            else ""
        )
        return f"{self.antenna.number} {place}, {self.polarization}, {where} ({ids}{kernel})"

    def as_row(self) -> dict[str, Any]:
        """The packet-map row of this input, keys in :data:`PACKET_MAP_COLUMNS` order."""
        coordinates = self.coordinates
        row = {
            "packet_index": self.packet_index,
            "antenna": self.antenna.number if self.antenna else None,
            "polarization": self.polarization,
            "grid_code": self.grid_code,
            "kernel_index": self.kernel_index,
            "latitude": coordinates.latitude if coordinates else None,
            "longitude": coordinates.longitude if coordinates else None,
            "height": coordinates.height if coordinates else None,
            "coordinate_system": coordinates.coordinate_system if coordinates else None,
            "board": self.board,
            "port": self.port,
            "snap_port": self.snap_port_name,
            "feng_id": self.feng_id,
        }
        assert tuple(row) == PACKET_MAP_COLUMNS
        return row


@dataclass(frozen=True)
class Board:
    """A SNAP board (chassis 1–4, slot A–K), its configuration and its 12 ports."""

    name: str
    chassis: int
    slot: str
    configured: bool
    serial_number: str | None
    mac_address: str | None
    ip_address: str | None
    feng_id: int | None
    notes: str | None
    ports: tuple[Port, ...]

    def port(self, number: int) -> Port:
        """Port 0–11."""
        if not 0 <= number < len(self.ports):
            raise ValueError(f"port {number} is out of range 0–{len(self.ports) - 1}")
        return self.ports[number]

    def __str__(self) -> str:
        used = sum(1 for port in self.ports if port.chain is not None)
        if not self.configured:
            return f"{self.name} (not configured), {used} of {len(self.ports)} ports connected"
        return (
            f"{self.name} serial {self.serial_number}, feng id {self.feng_id}, "
            f"{self.ip_address}, {used} of {len(self.ports)} ports connected"
        )
