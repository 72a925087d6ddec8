"""Part types, chain order, part numbers and polarization.

A part number is ``{PREFIX}{n:05d}P{1|2}`` for the numbered types; SNAP ports have their
own form (:mod:`casman.domain.snap`). Every entry point normalises input here, so a
scanner's lower-case or padded input means the same part everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from casman.domain.errors import DomainError, InvalidPartNumberError, InvalidPolarizationError

MAX_SERIAL = 99_999


class PartType(Enum):
    """The part types in chain order: each feeds the next."""

    ANTENNA = "ANT"
    LNA = "LNA"
    COAXSHORT = "CXS"
    COAXLONG = "CXL"
    BACBOARD = "BAC"
    SNAP = "SNAP"

    @property
    def prefix(self) -> str:
        return self.value

    @property
    def position(self) -> int:
        return CHAIN_ORDER.index(self)

    @property
    def is_numbered(self) -> bool:
        """Numbered parts are added with ``parts add``; SNAP ports exist by their address."""
        return self is not PartType.SNAP

    def next_in_chain(self) -> PartType | None:
        index = self.position + 1
        return CHAIN_ORDER[index] if index < len(CHAIN_ORDER) else None


CHAIN_ORDER: tuple[PartType, ...] = (
    PartType.ANTENNA,
    PartType.LNA,
    PartType.COAXSHORT,
    PartType.COAXLONG,
    PartType.BACBOARD,
    PartType.SNAP,
)
NUMBERED_TYPES: tuple[PartType, ...] = CHAIN_ORDER[:-1]
POLARIZATIONS: tuple[str, ...] = ("P1", "P2")

_NUMBERED_PART = re.compile(r"^(ANT|LNA|CXS|CXL|BAC)(\d{5})(P[12])$")


def parse_part_type(text: str) -> PartType:
    """Accept a type name (``ANTENNA``) or its prefix (``ANT``), any case."""
    cleaned = text.strip().upper()
    for part_type in PartType:
        if cleaned in (part_type.name, part_type.prefix):
            return part_type
    names = ", ".join(f"{t.name} ({t.prefix})" for t in CHAIN_ORDER)
    raise InvalidPartNumberError(f"unknown part type {text.strip()!r}; use one of {names}")


def parse_polarization(text: str | int) -> str:
    """Accept ``1``, ``2``, ``P1``, ``P2`` (any case, trimmed) and return ``P1``/``P2``."""
    cleaned = str(text).strip().upper()
    if cleaned in ("1", "2"):
        cleaned = "P" + cleaned
    if cleaned not in POLARIZATIONS:
        raise InvalidPolarizationError(
            f"polarization {str(text).strip()!r} is not valid; use 1, 2, P1 or P2"
        )
    return cleaned


@dataclass(frozen=True, order=True)
class NumberedPart:
    """A part such as ``LNA00042P2``."""

    part_type: PartType
    serial: int
    polarization: str

    def __post_init__(self) -> None:
        if self.part_type is PartType.SNAP:
            raise InvalidPartNumberError("SNAP ports are not numbered parts")
        if not 1 <= self.serial <= MAX_SERIAL:
            raise InvalidPartNumberError(
                f"part serial {self.serial} is out of range 1–{MAX_SERIAL}"
            )
        if self.polarization not in POLARIZATIONS:
            raise InvalidPolarizationError(f"polarization {self.polarization!r} is not P1 or P2")

    @property
    def part_number(self) -> str:
        return format_part_number(self.part_type, self.serial, self.polarization)

    @property
    def base_number(self) -> str:
        """The number without polarization (``ANT00001``): one physical antenna."""
        return f"{self.part_type.prefix}{self.serial:05d}"


def format_part_number(part_type: PartType, serial: int, polarization: str) -> str:
    return f"{part_type.prefix}{serial:05d}{parse_polarization(polarization)}"


def parse_numbered_part(text: str) -> NumberedPart:
    """Parse ``ANT00001P1`` (trimmed, upper-cased); anything else is an error."""
    cleaned = text.strip().upper()
    match = _NUMBERED_PART.match(cleaned)
    if match is None:
        raise InvalidPartNumberError(
            f"{text.strip()!r} is not a part number; expected e.g. ANT00001P1 "
            "(prefix ANT/LNA/CXS/CXL/BAC, 5 digits, P1 or P2) or a SNAP port like SNAP010203"
        )
    prefix, digits, polarization = match.groups()
    serial = int(digits)
    if serial < 1:
        raise InvalidPartNumberError(f"{cleaned!r} has serial 00000; serials start at 00001")
    return NumberedPart(PartType(prefix), serial, polarization)


@dataclass(frozen=True)
class NumberBlock:
    """The serial numbers one site allocates from (``site: {part_number_start, …_end}``).

    Sites that work offline at the same time would otherwise both create ``ANT00051P1``;
    giving each site its own block prevents the clash instead of merging it later.
    """

    start: int = 1
    end: int = MAX_SERIAL

    def __post_init__(self) -> None:
        if not 1 <= self.start <= self.end <= MAX_SERIAL:
            raise DomainError(
                f"part number block {self.start}–{self.end} is not within 1–{MAX_SERIAL} "
                "(site.part_number_start ≤ site.part_number_end)"
            )

    def first(self, part_type: PartType, polarization: str) -> str:
        return format_part_number(part_type, self.start, polarization)

    def last(self, part_type: PartType, polarization: str) -> str:
        return format_part_number(part_type, self.end, polarization)


def number_block(start: object, end: object) -> NumberBlock:
    """A NumberBlock from config values (None: the whole range)."""

    def whole(value: object, name: str, default: int) -> int:
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise DomainError(f"site.{name} must be a whole number, got {value!r}")
        try:
            return int(value)
        except ValueError:
            raise DomainError(f"site.{name} must be a whole number, got {value!r}") from None

    return NumberBlock(
        whole(start, "part_number_start", 1), whole(end, "part_number_end", MAX_SERIAL)
    )
