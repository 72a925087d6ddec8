"""Grid codes, array geometry and antenna numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casman.domain.errors import DomainError, InvalidGridCodeError
from casman.domain.grid import (
    ArrayGeometry,
    GridPosition,
    check_in_geometry,
    geometry_from_config,
    normalise_antenna_number,
    parse_grid_code,
)

positions = st.builds(
    GridPosition,
    st.sampled_from(["C", "N", "S"]),
    st.integers(min_value=-999, max_value=999),
    st.integers(min_value=0, max_value=99),
)


@given(positions)
def test_grid_code_round_trips(position: GridPosition) -> None:
    assert parse_grid_code(position.grid_code) == position
    assert parse_grid_code(f"  {position.grid_code.lower()} ") == position


@given(positions)
def test_direction_follows_the_sign_of_the_row(position: GridPosition) -> None:
    direction = position.grid_code[1]
    expected = "N" if position.row_offset > 0 else "S" if position.row_offset < 0 else "C"
    assert direction == expected


@pytest.mark.parametrize(
    ("code", "row", "col"), [("CN002E03", 2, 3), ("CS021E00", -21, 0), ("CC000E01", 0, 1)]
)
def test_spec_examples(code: str, row: int, col: int) -> None:
    position = parse_grid_code(code)
    assert (position.array_id, position.row_offset, position.east_col) == ("C", row, col)


@pytest.mark.parametrize(
    "code",
    [
        "XN002E03",
        "CX002E03",
        "CN02E03",
        "CN002E3",
        "CN002W03",
        "CC001E01",
        "CN000E01",
        "CS000E01",
        "CN0002E03",
        "",
        "CN002E100",
    ],
)
def test_malformed_codes(code: str) -> None:
    with pytest.raises(InvalidGridCodeError):
        parse_grid_code(code)


def test_geometry_from_config_limits_codes() -> None:
    geometry = geometry_from_config(
        {"arrays": {"C": {"north_rows": 21, "south_rows": 21, "columns": [1, 6]}}}
    )
    check_in_geometry(parse_grid_code("CN021E06"), geometry)
    check_in_geometry(parse_grid_code("NN050E50"), geometry)  # array N is not configured
    for outside in ["CN022E01", "CS022E01", "CC000E00", "CC000E07"]:
        with pytest.raises(InvalidGridCodeError, match="outside array C"):
            check_in_geometry(parse_grid_code(outside), geometry)


def test_geometry_positions_are_north_to_south_west_to_east() -> None:
    cells = ArrayGeometry(1, 1, 1, 2).positions("C")
    assert [c.grid_code for c in cells] == [
        "CN001E01",
        "CN001E02",
        "CC000E01",
        "CC000E02",
        "CS001E01",
        "CS001E02",
    ]


@pytest.mark.parametrize("text", ["ANT00001", "ant00001p1", " ANT00001P2 "])
def test_antenna_numbers_reduce_to_base(text: str) -> None:
    assert normalise_antenna_number(text) == "ANT00001"


@pytest.mark.parametrize("text", ["LNA00001", "ANT1", "CN002E03", "ANT00000"])
def test_bad_antenna_numbers(text: str) -> None:
    with pytest.raises(DomainError):
        normalise_antenna_number(text)
