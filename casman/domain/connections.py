"""The connection rules, enforced here and applied by every entry point.

1. the target's type is the next in chain order (ANTENNA only as a source, SNAP only as a
   target);
2. polarizations match; a SNAP port has none and accepts either;
3. a part has at most one active outgoing and one active incoming connection;
4. both parts exist and a part cannot connect to itself.

The callers gather the facts (does it exist, what is it connected to) inside their
transaction and pass them in, so the rules stay pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from casman.domain.errors import ConnectionRuleError
from casman.domain.parts import NumberedPart, PartType, parse_numbered_part
from casman.domain.snap import SnapPort, parse_snap_port

Part = NumberedPart | SnapPort


def parse_part(text: str) -> Part:
    """Any part number a scanner may type: ``LNA00042P2``, ``SNAP010203``, ``SNAP1B03``."""
    cleaned = text.strip().upper()
    if cleaned.startswith("SNAP"):
        return parse_snap_port(cleaned)
    return parse_numbered_part(cleaned)


@dataclass(frozen=True)
class LinkFacts:
    """What the database says about a proposed pair, read inside the write transaction."""

    source_exists: bool
    target_exists: bool
    source_outgoing: str | None = None
    target_incoming: str | None = None


def check_pair_shape(source: Part, target: Part) -> None:
    """Rules that need no database: self, chain order, polarization."""
    s, t = source.part_number, target.part_number
    if s == t:
        raise ConnectionRuleError(f"cannot connect {s} to itself")
    if source.part_type is PartType.SNAP:
        raise ConnectionRuleError(
            f"cannot connect {s} to {t}: a SNAP port is the end of a chain and only a target"
        )
    expected = source.part_type.next_in_chain()
    if target.part_type is not expected:
        assert expected is not None
        raise ConnectionRuleError(
            f"cannot connect {s} ({source.part_type.name}) to {t} ({target.part_type.name}): "
            f"chain order is ANTENNA → LNA → COAXSHORT → COAXLONG → BACBOARD → SNAP, "
            f"so a {source.part_type.name} connects to a {expected.name}"
        )
    if target.polarization is not None and source.polarization != target.polarization:
        raise ConnectionRuleError(
            f"cannot connect {s} to {t}: polarization {source.polarization} does not match "
            f"{target.polarization} (P1 connects to P1, P2 to P2)"
        )


def check_connection(source: Part, target: Part, facts: LinkFacts) -> None:
    """Raise ConnectionRuleError naming both parts and the broken rule, else return."""
    check_pair_shape(source, target)
    s, t = source.part_number, target.part_number
    if not facts.source_exists:
        raise ConnectionRuleError(
            f"cannot connect {s} to {t}: part {s} does not exist; add it with "
            f"`casman parts add {source.part_type.name} …`"
        )
    if not facts.target_exists:
        raise ConnectionRuleError(
            f"cannot connect {s} to {t}: part {t} does not exist; add it with "
            f"`casman parts add {target.part_type.name} …`"
        )
    if facts.source_outgoing == t:
        raise ConnectionRuleError(f"{s} is already connected to {t}")
    if facts.source_outgoing is not None:
        raise ConnectionRuleError(
            f"cannot connect {s} to {t}: {s} is already connected to {facts.source_outgoing} "
            f"(one outgoing connection per part); disconnect it first"
        )
    if facts.target_incoming is not None:
        raise ConnectionRuleError(
            f"cannot connect {s} to {t}: {t} already receives {facts.target_incoming} "
            f"(one incoming connection per part); disconnect it first"
        )


def check_disconnection(source: Part, target: Part, connected: bool) -> None:
    if not connected:
        raise ConnectionRuleError(
            f"cannot disconnect {source.part_number} from {target.part_number}: "
            "they are not connected"
        )


def orient_disconnection(
    first: Part, second: Part, forward: bool, backward: bool
) -> tuple[Part, Part, bool]:
    """The connected pair a technician means, in chain direction, whichever was scanned first.

    A technician unplugging a cable may scan the target end first. The link is recorded
    in its chain direction (so the pair's state stays the newest event of that pair);
    ``True`` in the result says the scans came in reverse order, so the caller keeps each
    part's own scan time. Refused when the two are not connected either way.
    """
    if forward:
        return first, second, False
    if backward:
        return second, first, True
    check_disconnection(first, second, False)
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = [
    "LinkFacts",
    "Part",
    "check_connection",
    "check_disconnection",
    "check_pair_shape",
    "orient_disconnection",
    "parse_numbered_part",
    "parse_part",
]
