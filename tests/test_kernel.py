"""The correlator's kernel index: the old implementation's numbers, round trips, config."""

from __future__ import annotations

import csv

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casman.domain.errors import DomainError
from casman.domain.grid import ArrayGeometry, GridPosition, parse_grid_code
from casman.domain.kernel import (
    CORE_GEOMETRY,
    KernelIndex,
    KernelIndexError,
    KernelLayout,
    default_kernel,
    kernel_for_geometry,
    kernel_from_config,
)
from tests.conftest import GRID_CSV

# The old implementation's kernel index of the core grid (issue #14).
KNOWN = {
    "CN021E01": 0,
    "CN021E06": 5,
    "CN020E01": 6,
    "CN001E01": 120,
    "CC000E01": 126,
    "CC000E06": 131,
    "CS001E01": 132,
    "CS021E04": 255,
}


@pytest.mark.parametrize(("grid_code", "index"), sorted(KNOWN.items()))
def test_known_kernel_indexes(grid_code: str, index: int) -> None:
    kernel = default_kernel()
    assert kernel.index_of(grid_code) == index
    assert kernel.position_of(index).grid_code == grid_code
    assert kernel.unmapped(grid_code) is None


@pytest.mark.parametrize(("grid_code", "would_be"), [("CS021E05", 256), ("CS021E06", 257)])
def test_last_two_core_positions_are_unmapped_and_say_so(grid_code: str, would_be: int) -> None:
    kernel = default_kernel()
    assert kernel.index_of(grid_code) is None
    reason = kernel.unmapped(grid_code)
    assert reason is not None
    assert grid_code in reason and "not mapped" in reason and str(would_be) in reason
    with pytest.raises(KernelIndexError, match="not mapped"):
        kernel.position_of(would_be)


def test_every_position_of_the_real_grid_csv_round_trips() -> None:
    """All 258 deployed positions: 256 map to 0–255 one-to-one, 2 are unmapped."""
    with GRID_CSV.open(newline="") as handle:
        codes = [row["grid_code"] for row in csv.DictReader(handle)]
    assert len(codes) == 258
    kernel = default_kernel()
    indexes = {}
    for code in codes:
        index = kernel.index_of(code)
        if index is None:
            assert kernel.unmapped(code) is not None
            continue
        assert kernel.position_of(index).grid_code == code  # code → index → code
        assert kernel.index_of(kernel.position_of(index)) == index  # index → code → index
        indexes[code] = index
    assert sorted(indexes.values()) == list(range(256))
    assert sorted(set(codes) - set(indexes)) == ["CS021E05", "CS021E06"]


@given(st.integers(min_value=0, max_value=255))
def test_every_kernel_index_round_trips(index: int) -> None:
    kernel = default_kernel()
    position = kernel.position_of(index)
    assert CORE_GEOMETRY.contains(position) and position.array_id == "C"
    assert kernel.index_of(position.grid_code) == index
    assert kernel.index_of(parse_grid_code(position.grid_code.lower())) == index


@given(st.integers().filter(lambda n: not 0 <= n <= 255))
def test_indexes_outside_the_kernel_are_refused(index: int) -> None:
    with pytest.raises(KernelIndexError):
        default_kernel().position_of(index)


geometries = st.builds(
    ArrayGeometry,
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=10),
    st.integers(min_value=0, max_value=10),
).filter(lambda g: g.first_column <= g.last_column)


@given(geometries, st.integers(min_value=0, max_value=4000), st.data())
def test_any_configured_layout_round_trips(
    geometry: ArrayGeometry, max_index: int, data: st.DataObject
) -> None:
    layout = KernelLayout("C", geometry, max_index)
    assert layout.size == min(layout.positions_in_geometry, max_index + 1)
    index = data.draw(st.integers(min_value=0, max_value=layout.size - 1))
    position = layout.position_of(index)
    assert geometry.contains(position)
    assert layout.index_of(position) == index
    # row-major from the north: the next index is east in the row or the next row south
    if index + 1 < layout.size:
        after = layout.position_of(index + 1)
        assert (after.row_offset, after.east_col) in (
            (position.row_offset, position.east_col + 1),
            (position.row_offset - 1, geometry.first_column),
        )
    with pytest.raises(KernelIndexError):
        layout.position_of(layout.size)


@given(
    geometries,
    st.integers(min_value=0, max_value=400),
    st.integers(min_value=-45, max_value=45),
    st.integers(min_value=0, max_value=12),
)
def test_a_position_has_an_index_or_a_reason(
    geometry: ArrayGeometry, max_index: int, row: int, column: int
) -> None:
    layout = KernelLayout("C", geometry, max_index)
    position = GridPosition("C", row, column)
    index = layout.index_of(position)
    if index is None:
        assert layout.unmapped(position)
    else:
        assert layout.unmapped(position) is None
        assert layout.position_of(index) == position


def test_layout_maps_in_index_order() -> None:
    pairs = default_kernel().layout().mapped()
    assert [index for index, _ in pairs] == list(range(256))
    assert pairs[0][1].grid_code == "CN021E01" and pairs[-1][1].grid_code == "CS021E04"


def test_other_arrays_have_no_kernel_by_default() -> None:
    kernel = default_kernel()
    assert kernel.index_of("NN001E01") is None
    assert "has no kernel index" in (kernel.unmapped("NN001E01") or "")
    with pytest.raises(KernelIndexError, match="array N has no kernel index"):
        kernel.position_of(0, "N")


def test_kernel_errors_are_domain_errors_with_one_line() -> None:
    with pytest.raises(DomainError) as caught:
        default_kernel().position_of(300)
    assert "\n" not in str(caught.value)


# -- configuration ---------------------------------------------------------------------


def test_no_config_is_the_deployed_core() -> None:
    assert kernel_from_config({}) == default_kernel() == kernel_for_geometry(None)
    assert default_kernel().layout().max_index == 255


def test_config_geometry_of_c_is_the_kernel_layout() -> None:
    kernel = kernel_from_config(
        {"arrays": {"C": {"north_rows": 2, "south_rows": 2, "columns": [1, 4]}}}
    )
    assert kernel.index_of("CN002E01") == 0
    assert kernel.index_of("CC000E01") == 8
    assert kernel.index_of("CS002E04") == 19
    assert kernel.index_of("CN003E01") is None
    assert "outside the kernel layout" in (kernel.unmapped("CN003E01") or "")


def test_max_index_and_enabled_per_array_from_config() -> None:
    section = {
        "arrays": {"n": {"north_rows": 1, "south_rows": 0, "columns": [1, 2]}},
        # values from ${VAR} arrive as text
        "kernel_index": {"C": {"max_index": "127"}, "N": {"enabled": "yes", "max_index": 10}},
    }
    kernel = kernel_from_config(section)
    assert kernel.layout("C").geometry == CORE_GEOMETRY  # a kernel option is no geometry
    assert kernel.index_of("CC000E02") == 127
    assert kernel.index_of("CC000E03") is None
    assert "past the last one (127)" in (kernel.unmapped("CC000E03") or "")
    assert kernel.index_of("NN001E02") == 1 and kernel.index_of("NC000E01") == 2
    assert kernel.position_of(3, "N").grid_code == "NC000E02"


@pytest.mark.parametrize("off", [False, "off", {"enabled": False}])
def test_kernel_can_be_switched_off_for_c(off: object) -> None:
    kernel = kernel_from_config({"kernel_index": {"C": off}})
    assert kernel == KernelIndex({})
    assert kernel.index_of("CC000E01") is None
    assert "array C has no kernel index" in (kernel.unmapped("CC000E01") or "")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"kernel_index": {"S": True}}, "array S has no geometry"),
        ({"kernel_index": {"C": "maybe"}}, "must be true or false"),
        ({"kernel_index": {"C": {"enabled": "maybe"}}}, "enabled must be true or false"),
        ({"kernel_index": {"C": {"max_index": -1}}}, "max_index must be a whole"),
        ({"kernel_index": {"C": {"max_index": True}}}, "max_index must be a whole"),
        ({"kernel_index": {"C": {"max_index": "²"}}}, "max_index must be a whole"),
        ({"kernel_index": {"C": {"max_indx": 3}}}, "max_indx is not a kernel setting"),
        ({"kernel_index": {"X": True}}, "is not an array"),
        ({"kernel_index": [1]}, "must be a mapping"),
        ({"kernel_index": {"C": [1]}}, "must be true, false or"),
    ],
)
def test_bad_kernel_config_is_one_clear_error(section: dict[str, object], message: str) -> None:
    with pytest.raises(KernelIndexError, match=message):
        kernel_from_config(section)
