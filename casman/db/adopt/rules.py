"""The mapping rules of adoption: what each value the old tool wrote becomes in casman.

Pure functions, no I/O, so each rule is testable on its own and the plan that applies them
(:mod:`casman.db.adopt.plan`) stays a loop. Every rule has an id and one sentence in
:data:`RULES`; the dry run prints them by id with counts, and ``docs/migrating.md`` explains
each one (a test checks that every id is documented there).

A rule either maps a value to what casman would have written, or leaves it exactly as it
was; it never drops anything. A value left as it was is reported (:data:`KEPT`) when casman
reads it differently from the old tool or cannot read it at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from casman.domain.connections import Part, parse_part
from casman.domain.errors import DomainError
from casman.domain.grid import GridPosition, normalise_antenna_number, parse_grid_code
from casman.domain.parts import PartType, parse_part_type
from casman.domain.snap import SnapPort

RULES: dict[str, str] = {
    "table-layout": "tables rebuilt with the spec's exact DDL (columns added by ALTER TABLE, "
    "CHECKs the spec lacks, another column order); every row and id kept",
    "missing-table": "tables the old file lacks are created empty",
    "old-bookkeeping": "the old tool's schema_version table and indexes casman does not "
    "create are dropped (the safety copy keeps them)",
    "empty-column": "columns casman does not have and that hold no value are dropped",
    "legacy-date-columns": "created_at/modified_at (the oldest parts layout) fill "
    "date_created/date_modified where those are empty; otherwise the newer column wins",
    "part-number-spelling": "part numbers trimmed and upper-cased, SNAP ports in the field "
    "form (SNAP1A05) written canonically (SNAP010105)",
    "part-type-from-number": "part_type and connected_to_type are the type the part number names",
    "polarization-from-number": "polarization and connected_polarization are what the part "
    "number ends with (P1/P2), NULL for a SNAP port: the old '1', '2', 'X', 'N/A'",
    "polarization-digits": "where the part number is not one casman reads, '1'/'2' become "
    "'P1'/'P2'",
    "local-time": "times without a zone are the old tool's local wall-clock time: read in the "
    "migration's time zone, stored as ISO 8601 UTC (…Z)",
    "utc-time-spelling": "times with a zone or offset, or with fractions of a second, stored "
    "as ISO 8601 UTC to the second",
    "missing-status": "connection_status NULL (rows older than the column) becomes 'connected'",
    "status-spelling": "connection_status trimmed and lower-cased ('Connected ' → 'connected')",
    "chain-direction": "an assembly row naming its pair downstream first is turned to chain "
    "direction; each part keeps its own type, polarization and scan time",
    "pair-direction": "a pair whose chain order casman cannot tell keeps the direction of its "
    "first row; later rows naming it the other way round are turned to match",
    "antenna-number": "antenna_number is the base number (ANT00001P1 → ANT00001), trimmed and "
    "upper-cased",
    "grid-code-spelling": "grid codes trimmed and upper-cased; the centre row written with N or "
    "S (CN000E01) written with C (CC000E01)",
    "grid-fields-from-code": "array_id, row_offset and east_col are what the grid code says",
}
"""Rule id → what it does (one line each, in the order the dry run prints them)."""

KEPT: dict[str, str] = {
    "unknown-part-number": "part numbers casman does not read (kept; shown, never connectable)",
    "unknown-polarization": "polarizations neither the part number nor the value tell",
    "unknown-time": "times casman cannot read (kept as written)",
    "ambiguous-local-time": "local times inside a daylight-saving change (read as the first "
    "of the two moments, or with the offset before a skipped hour)",
    "unknown-grid-code": "grid codes casman does not read (e.g. an array other than C, N, S)",
    "unknown-status": "connection_status values other than connected/disconnected "
    "(not live, as the old tool read them)",
    "spelling-clash": "spellings that would make two parts or antennas one",
    "rule-break": "assembly rows casman would refuse today (self-link, out of chain order, "
    "polarizations differ); kept, and shown as the links they were",
    "repeated-connect": "connections recorded again while live (they change nothing)",
    "decision-differs": "pairs whose latest row decides differently after the times were "
    "mapped (shown as casman reads them)",
}
"""Kinds of values kept exactly as written but reported (they read differently or not at all)."""


@dataclass(frozen=True)
class PartFacts:
    """What a stored part number says, when casman can read it."""

    number: str
    part_type: PartType
    polarization: str | None


@lru_cache(maxsize=1 << 18)
def read_part(text: object) -> PartFacts | None:
    """The canonical spelling, type and polarization of a stored part number, or None.

    Cached: each number appears in ``parts`` and in up to four assembly columns."""
    if not isinstance(text, str):
        return None
    try:
        part: Part = parse_part(text)
    except DomainError:
        return None
    polarization = None if isinstance(part, SnapPort) else part.polarization
    return PartFacts(part.part_number, part.part_type, polarization)


def type_of(number: object, stored_type: object) -> PartType | None:
    """A part's type from its number, else from the stored type name or prefix."""
    facts = read_part(number)
    if facts is not None:
        return facts.part_type
    if isinstance(stored_type, str) and stored_type.strip():
        try:
            return parse_part_type(stored_type)
        except DomainError:
            return None
    return None


def polarization_digits(value: object) -> str | None:
    """``'1'``/``'2'``/``'p1'`` (or the integers 1 and 2) as ``P1``/``P2``; None otherwise."""
    if isinstance(value, bool):
        return None
    text = str(value).strip().upper() if isinstance(value, str | int) else ""
    if text in ("1", "2"):
        return "P" + text
    if text in ("P1", "P2"):
        return text
    return None


def status(value: object) -> tuple[object, str | None]:
    """``connection_status`` as casman writes it and the rule that mapped it (or None)."""
    if value is None:
        return "connected", "missing-status"
    if isinstance(value, str):
        cleaned = value.strip().lower()
        if cleaned in ("connected", "disconnected") and cleaned != value:
            return cleaned, "status-spelling"
    return value, None


def is_known_status(value: object) -> bool:
    return value in ("connected", "disconnected")


@dataclass(frozen=True)
class GridFacts:
    """A stored grid code as casman reads it."""

    code: str
    position: GridPosition


def read_grid_code(text: object) -> GridFacts | None:
    """The canonical grid code of a stored one (centre row with N/S accepted), or None."""
    if not isinstance(text, str):
        return None
    cleaned = text.strip().upper()
    if len(cleaned) == 8 and cleaned[1] in "NS" and cleaned[2:5] == "000":
        cleaned = cleaned[0] + "C" + cleaned[2:]
    try:
        position = parse_grid_code(cleaned)
    except DomainError:
        return None
    return GridFacts(position.grid_code, position)


def antenna_base(text: object) -> str | None:
    """``ANT00001P1``/``ant00001`` → ``ANT00001``; None when it is not an antenna number."""
    if not isinstance(text, str):
        return None
    try:
        return normalise_antenna_number(text)
    except DomainError:
        return None


CHAIN_POSITION: dict[PartType, int] = {part_type: part_type.position for part_type in PartType}


def upstream_first(first: PartType | None, second: PartType | None) -> bool | None:
    """True when ``first`` comes after ``second`` in chain order (the row is reversed),
    False when before, None when it cannot be told (a type unknown or both the same)."""
    if first is None or second is None or first is second:
        return None
    return CHAIN_POSITION[first] > CHAIN_POSITION[second]


def breaks_rules(source: PartFacts | None, target: PartFacts | None, same_number: bool) -> bool:
    """A pair casman would refuse to connect today (only for numbers casman reads)."""
    if same_number:
        return True
    if source is None or target is None:
        return False
    if source.part_type is PartType.SNAP or source.part_type.next_in_chain() is not (
        target.part_type
    ):
        return True
    return target.polarization is not None and source.polarization != target.polarization
