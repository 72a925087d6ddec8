"""The four connection rules, each with its own message naming both parts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casman.domain.connections import LinkFacts, check_connection, check_disconnection, parse_part
from casman.domain.errors import ConnectionRuleError
from casman.domain.parts import CHAIN_ORDER, NUMBERED_TYPES

EXISTING = LinkFacts(source_exists=True, target_exists=True)


def part(prefix: str, n: int = 1, pol: str = "P1") -> str:
    return f"{prefix}{n:05d}{pol}"


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("ANT00001P1", "LNA00001P1"),
        ("LNA00001P2", "CXS00003P2"),
        ("CXS00001P1", "CXL00001P1"),
        ("CXL00001P1", "BAC00001P1"),
        ("BAC00001P1", "SNAP010203"),
        ("BAC00001P2", "SNAP4K11"),
    ],
)
def test_valid_links(source: str, target: str) -> None:
    check_connection(parse_part(source), parse_part(target), EXISTING)


@given(st.sampled_from(NUMBERED_TYPES), st.sampled_from(CHAIN_ORDER))
def test_only_the_next_type_is_accepted(source_type, target_type) -> None:  # type: ignore[no-untyped-def]
    source = parse_part(part(source_type.prefix))
    target = parse_part("SNAP010101" if target_type.name == "SNAP" else part(target_type.prefix, 2))
    if source_type.next_in_chain() is target_type:
        check_connection(source, target, EXISTING)
    else:
        with pytest.raises(ConnectionRuleError, match="chain order"):
            check_connection(source, target, EXISTING)


def test_snap_is_only_a_target() -> None:
    with pytest.raises(ConnectionRuleError, match="only a target"):
        check_connection(parse_part("SNAP010101"), parse_part("ANT00001P1"), EXISTING)


def test_polarization_mismatch_names_both_parts() -> None:
    with pytest.raises(ConnectionRuleError) as error:
        check_connection(parse_part("ANT00001P1"), parse_part("LNA00001P2"), EXISTING)
    assert "ANT00001P1" in str(error.value) and "LNA00001P2" in str(error.value)
    assert "polarization" in str(error.value)


def test_self_connection() -> None:
    with pytest.raises(ConnectionRuleError, match="itself"):
        check_connection(parse_part("ANT00001P1"), parse_part("ant00001p1"), EXISTING)


@pytest.mark.parametrize(
    ("facts", "match"),
    [
        (LinkFacts(False, True), "ANT00001P1 does not exist"),
        (LinkFacts(True, False), "LNA00001P1 does not exist"),
        (LinkFacts(True, True, source_outgoing="LNA00002P1"), "already connected to LNA00002P1"),
        (LinkFacts(True, True, target_incoming="ANT00009P1"), "already receives ANT00009P1"),
        (LinkFacts(True, True, source_outgoing="LNA00001P1"), "already connected to LNA00001P1"),
    ],
)
def test_existence_and_occupancy(facts: LinkFacts, match: str) -> None:
    with pytest.raises(ConnectionRuleError, match=match):
        check_connection(parse_part("ANT00001P1"), parse_part("LNA00001P1"), facts)


def test_disconnecting_an_unconnected_pair_is_an_error() -> None:
    with pytest.raises(ConnectionRuleError, match="not connected"):
        check_disconnection(parse_part("ANT00001P1"), parse_part("LNA00001P1"), False)
    check_disconnection(parse_part("ANT00001P1"), parse_part("LNA00001P1"), True)
