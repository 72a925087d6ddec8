"""SNAP boards, their ports and the packet index.

A port's canonical part number is ``SNAP{chassis:02d}{slot:02d}{port:02d}`` (slot A = 01);
technicians also type the field form ``SNAP1A05``. A board is named ``SNAP1A``. The packet
index is derived (``feng_id × 12 + port``), never stored, so re-numbering F-engines can
never leave a stale index behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from casman.domain.errors import InvalidBoardError, InvalidSnapPortError
from casman.domain.parts import PartType

CHASSIS_RANGE = range(1, 5)
SLOT_LETTERS = "ABCDEFGHIJK"
PORTS_PER_BOARD = 12
MAX_FENG_ID = 43
MAX_PACKET_INDEX = (MAX_FENG_ID + 1) * PORTS_PER_BOARD - 1

_CANONICAL_PORT = re.compile(r"^SNAP(\d{2})(\d{2})(\d{2})$")
_FIELD_PORT = re.compile(r"^SNAP(\d)([A-Z])(\d{1,2})$")
_BOARD = re.compile(r"^(?:SNAP)?(\d)([A-Z])$")
_MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")


def _check_chassis(chassis: int, given: str) -> None:
    if chassis not in CHASSIS_RANGE:
        raise InvalidSnapPortError(f"{given!r}: chassis {chassis} is out of range 1–4")


def slot_letter(slot_number: int) -> str:
    """Slot 1 → ``A`` … 11 → ``K``."""
    if not 1 <= slot_number <= len(SLOT_LETTERS):
        raise InvalidSnapPortError(f"slot {slot_number} is out of range 1–11 (A–K)")
    return SLOT_LETTERS[slot_number - 1]


def slot_number(letter: str) -> int:
    cleaned = letter.strip().upper()
    if len(cleaned) != 1 or cleaned not in SLOT_LETTERS:
        raise InvalidSnapPortError(f"slot {letter!r} is not a letter A–K")
    return SLOT_LETTERS.index(cleaned) + 1


@dataclass(frozen=True, order=True)
class SnapBoardId:
    """A board position: chassis 1–4, slot A–K."""

    chassis: int
    slot: str

    def __post_init__(self) -> None:
        _check_chassis(self.chassis, self.name)
        slot_number(self.slot)

    @property
    def name(self) -> str:
        return f"SNAP{self.chassis}{self.slot}"

    def port(self, port: int) -> SnapPort:
        return SnapPort(self.chassis, self.slot, port)


@dataclass(frozen=True, order=True)
class SnapPort:
    """One of a board's 12 ADC inputs."""

    chassis: int
    slot: str
    port: int

    def __post_init__(self) -> None:
        _check_chassis(self.chassis, f"SNAP{self.chassis}{self.slot}{self.port:02d}")
        slot_number(self.slot)
        if not 0 <= self.port < PORTS_PER_BOARD:
            raise InvalidSnapPortError(
                f"SNAP{self.chassis}{self.slot}: port {self.port} is out of range 0–11"
            )

    @property
    def board(self) -> SnapBoardId:
        return SnapBoardId(self.chassis, self.slot)

    @property
    def part_type(self) -> PartType:
        return PartType.SNAP

    @property
    def polarization(self) -> None:
        """SNAP ports take either polarization."""
        return None

    @property
    def part_number(self) -> str:
        return f"SNAP{self.chassis:02d}{slot_number(self.slot):02d}{self.port:02d}"

    @property
    def field_name(self) -> str:
        """The form technicians say: ``SNAP1A05``."""
        return f"SNAP{self.chassis}{self.slot}{self.port:02d}"


def parse_snap_port(text: str) -> SnapPort:
    """Parse ``SNAP010203`` or the field form ``SNAP1B03`` into a port."""
    cleaned = text.strip().upper()
    canonical = _CANONICAL_PORT.match(cleaned)
    if canonical is not None:
        chassis, slot, port = (int(group) for group in canonical.groups())
        _check_chassis(chassis, cleaned)
        if not 1 <= slot <= len(SLOT_LETTERS):
            raise InvalidSnapPortError(f"{cleaned!r}: slot {slot:02d} is out of range 01–11")
        return SnapPort(chassis, slot_letter(slot), port)
    field_form = _FIELD_PORT.match(cleaned)
    if field_form is not None:
        chassis_text, letter, port_text = field_form.groups()
        if letter not in SLOT_LETTERS:
            raise InvalidSnapPortError(f"{cleaned!r}: slot {letter} is not a letter A–K")
        return SnapPort(int(chassis_text), letter, int(port_text))
    raise InvalidSnapPortError(
        f"{text.strip()!r} is not a SNAP port; use SNAP{{chassis:02}}{{slot:02}}{{port:02}} "
        "such as SNAP010203, or SNAP1B03"
    )


def parse_board(text: str) -> SnapBoardId:
    """Parse a board name: ``SNAP1A`` or ``1A``."""
    cleaned = text.strip().upper()
    match = _BOARD.match(cleaned)
    if match is None:
        raise InvalidSnapPortError(
            f"{text.strip()!r} is not a SNAP board; use chassis and slot like SNAP1A (1–4, A–K)"
        )
    chassis_text, letter = match.groups()
    if letter not in SLOT_LETTERS:
        raise InvalidSnapPortError(f"{cleaned!r}: slot {letter} is not a letter A–K")
    return SnapBoardId(int(chassis_text), letter)


def packet_index(feng_id: int, port: int) -> int:
    """Where a port's samples arrive in the F-engine packet stream."""
    if not 0 <= feng_id <= MAX_FENG_ID:
        raise InvalidBoardError(f"feng_id {feng_id} is out of range 0–{MAX_FENG_ID}")
    if not 0 <= port < PORTS_PER_BOARD:
        raise InvalidSnapPortError(f"port {port} is out of range 0–11")
    return feng_id * PORTS_PER_BOARD + port


def port_for_packet_index(index: int) -> tuple[int, int]:
    """Inverse of :func:`packet_index`: ``(feng_id, port)``."""
    if not 0 <= index <= MAX_PACKET_INDEX:
        raise InvalidBoardError(f"packet index {index} is out of range 0–{MAX_PACKET_INDEX}")
    return divmod(index, PORTS_PER_BOARD)


def normalise_mac(text: str) -> str:
    cleaned = text.strip().lower().replace("-", ":")
    if not _MAC.match(cleaned):
        raise InvalidBoardError(
            f"MAC address {text.strip()!r} is not six hex pairs like 00:11:22:33:44:55"
        )
    return cleaned


def normalise_ip(text: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise InvalidBoardError(f"IP address {text.strip()!r} is not valid") from None


@dataclass(frozen=True)
class SnapBoard:
    """A board's configuration as loaded from ``snap_boards.csv``."""

    board: SnapBoardId
    serial_number: str
    mac_address: str
    ip_address: str
    feng_id: int
    notes: str = ""

    def packet_index(self, port: int) -> int:
        return packet_index(self.feng_id, port)


def make_board(
    chassis: str | int,
    slot: str,
    serial_number: str,
    mac_address: str,
    ip_address: str,
    feng_id: str | int,
    notes: str = "",
) -> SnapBoard:
    """Validate one board row; serial numbers stay text (``099`` keeps its zero)."""
    try:
        chassis_number = int(str(chassis).strip())
    except ValueError:
        raise InvalidBoardError(f"chassis {chassis!r} is not a number 1–4") from None
    try:
        feng = int(str(feng_id).strip())
    except ValueError:
        raise InvalidBoardError(f"feng_id {feng_id!r} is not a number 0–{MAX_FENG_ID}") from None
    if not 0 <= feng <= MAX_FENG_ID:
        raise InvalidBoardError(f"feng_id {feng} is out of range 0–{MAX_FENG_ID}")
    serial = serial_number.strip()
    if not serial:
        raise InvalidBoardError("serial number is empty")
    try:
        board = SnapBoardId(chassis_number, slot.strip().upper())
    except InvalidSnapPortError as error:
        raise InvalidBoardError(str(error)) from None
    return SnapBoard(
        board=board,
        serial_number=serial,
        mac_address=normalise_mac(mac_address),
        ip_address=normalise_ip(ip_address),
        feng_id=feng,
        notes=notes.strip(),
    )
