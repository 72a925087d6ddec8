"""Part numbers, part types and polarization."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casman.domain.errors import InvalidPartNumberError, InvalidPolarizationError
from casman.domain.parts import (
    CHAIN_ORDER,
    NUMBERED_TYPES,
    NumberedPart,
    PartType,
    format_part_number,
    parse_numbered_part,
    parse_part_type,
    parse_polarization,
)

numbered_parts = st.builds(
    NumberedPart,
    st.sampled_from(NUMBERED_TYPES),
    st.integers(min_value=1, max_value=99_999),
    st.sampled_from(["P1", "P2"]),
)


@given(numbered_parts)
def test_part_number_round_trips(part: NumberedPart) -> None:
    assert parse_numbered_part(part.part_number) == part


@given(numbered_parts, st.sampled_from(["", " ", "\t"]), st.booleans())
def test_input_is_trimmed_and_upper_cased(part: NumberedPart, pad: str, lower: bool) -> None:
    text = part.part_number.lower() if lower else part.part_number
    assert parse_numbered_part(f"{pad}{text}{pad}\n") == part


@given(numbered_parts)
def test_format_is_prefix_five_digits_polarization(part: NumberedPart) -> None:
    number = part.part_number
    assert number.startswith(part.part_type.prefix)
    assert number[len(part.part_type.prefix) :] == f"{part.serial:05d}{part.polarization}"
    assert part.base_number == number[:-2]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ANT0001P1",
        "ANT000001P1",
        "ANT00000P1",
        "ANT00001P3",
        "ANT00001",
        "XYZ00001P1",
        "ANT00001P1X",
        "ANT 00001P1",
        "SNAP00001P1",
        "ANT-0001P1",
    ],
)
def test_malformed_part_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidPartNumberError):
        parse_numbered_part(text)


@given(st.text(max_size=12))
def test_parser_never_accepts_non_canonical_text(text: str) -> None:
    try:
        part = parse_numbered_part(text)
    except InvalidPartNumberError:
        return
    assert part.part_number == text.strip().upper()


def test_chain_order_is_the_spec_order() -> None:
    assert [t.name for t in CHAIN_ORDER] == [
        "ANTENNA",
        "LNA",
        "COAXSHORT",
        "COAXLONG",
        "BACBOARD",
        "SNAP",
    ]
    assert PartType.BACBOARD.next_in_chain() is PartType.SNAP
    assert PartType.SNAP.next_in_chain() is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ANTENNA", PartType.ANTENNA),
        ("ant", PartType.ANTENNA),
        ("CXS", PartType.COAXSHORT),
        (" coaxlong ", PartType.COAXLONG),
        ("BAC", PartType.BACBOARD),
        ("lna", PartType.LNA),
    ],
)
def test_part_types_accept_name_or_prefix(text: str, expected: PartType) -> None:
    assert parse_part_type(text) is expected


def test_unknown_part_type_lists_the_choices() -> None:
    with pytest.raises(InvalidPartNumberError, match="ANTENNA \\(ANT\\)"):
        parse_part_type("DISH")


@pytest.mark.parametrize(
    ("text", "expected"), [("1", "P1"), ("2", "P2"), ("p1", "P1"), (" P2 ", "P2"), (1, "P1")]
)
def test_polarization_forms(text: str | int, expected: str) -> None:
    assert parse_polarization(text) == expected


@pytest.mark.parametrize("text", ["0", "3", "P3", "X", "", "PP1", "1.0"])
def test_bad_polarization(text: str) -> None:
    with pytest.raises(InvalidPolarizationError):
        parse_polarization(text)


def test_format_part_number_normalises_polarization() -> None:
    assert format_part_number(PartType.LNA, 42, "2") == "LNA00042P2"
