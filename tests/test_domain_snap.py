"""SNAP ports, boards, packet index, MAC and IP checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casman.domain.errors import InvalidBoardError, InvalidSnapPortError
from casman.domain.snap import (
    SLOT_LETTERS,
    SnapPort,
    make_board,
    normalise_ip,
    normalise_mac,
    packet_index,
    parse_board,
    parse_snap_port,
    port_for_packet_index,
)

ports = st.builds(
    SnapPort,
    st.integers(min_value=1, max_value=4),
    st.sampled_from(list(SLOT_LETTERS)),
    st.integers(min_value=0, max_value=11),
)


@given(ports)
def test_canonical_form_round_trips(port: SnapPort) -> None:
    assert parse_snap_port(port.part_number) == port
    assert parse_snap_port(port.part_number.lower()) == port


@given(ports)
def test_field_form_is_normalised_to_the_same_port(port: SnapPort) -> None:
    assert parse_snap_port(port.field_name) == port
    assert parse_snap_port(f"SNAP{port.chassis}{port.slot}{port.port}") == port


def test_spec_example_snap010203_is_chassis_1_slot_b_port_3() -> None:
    port = parse_snap_port("SNAP010203")
    assert (port.chassis, port.slot, port.port) == (1, "B", 3)
    assert parse_snap_port("SNAP1A05").part_number == "SNAP010105"


@pytest.mark.parametrize(
    "text",
    [
        "SNAP000101",
        "SNAP050101",
        "SNAP011201",
        "SNAP010012",
        "SNAP010112",
        "SNAP5A01",
        "SNAP1L01",
        "SNAP1A12",
        "SNAP1A",
        "SNAP01010",
        "SNAPX",
        "SNAP1A123",
    ],
)
def test_invalid_ports(text: str) -> None:
    with pytest.raises(InvalidSnapPortError):
        parse_snap_port(text)


@pytest.mark.parametrize(
    ("text", "name"), [("SNAP1A", "SNAP1A"), ("4k", "SNAP4K"), (" snap2c ", "SNAP2C")]
)
def test_board_names(text: str, name: str) -> None:
    assert parse_board(text).name == name


@pytest.mark.parametrize("text", ["SNAP5A", "SNAP1L", "SNAP", "SNAP10A", "1"])
def test_invalid_board_names(text: str) -> None:
    with pytest.raises(InvalidSnapPortError):
        parse_board(text)


@pytest.mark.parametrize(
    ("feng", "port", "index"), [(0, 5, 5), (0, 11, 11), (11, 0, 132), (11, 5, 137), (43, 11, 527)]
)
def test_packet_index_examples_from_the_spec(feng: int, port: int, index: int) -> None:
    assert packet_index(feng, port) == index


@given(st.integers(0, 43), st.integers(0, 11))
def test_packet_index_is_invertible(feng: int, port: int) -> None:
    assert port_for_packet_index(packet_index(feng, port)) == (feng, port)


@pytest.mark.parametrize(("feng", "port"), [(-1, 0), (44, 0), (0, 12), (0, -1)])
def test_packet_index_ranges(feng: int, port: int) -> None:
    with pytest.raises((InvalidBoardError, InvalidSnapPortError)):
        packet_index(feng, port)


def test_mac_and_ip_syntax() -> None:
    assert normalise_mac("00:29:C4:E8:18:05") == "00:29:c4:e8:18:05"
    assert normalise_ip(" 192.168.120.53 ") == "192.168.120.53"
    for bad in ["00:29:c4:e8:18", "00:29:c4:e8:18:0g", "0029c4e81805", ""]:
        with pytest.raises(InvalidBoardError):
            normalise_mac(bad)
    for bad in ["192.168.1", "192.168.1.256", "host", ""]:
        with pytest.raises(InvalidBoardError):
            normalise_ip(bad)


def test_board_serials_stay_text_with_leading_zeros() -> None:
    board = make_board("4", "a", "099", "00:11:22:33:44:55", "10.0.0.1", "33")
    assert board.serial_number == "099"
    assert board.board.name == "SNAP4A"
    assert board.packet_index(11) == 33 * 12 + 11


@pytest.mark.parametrize(
    "row",
    [
        ("0", "A", "1", "00:11:22:33:44:55", "10.0.0.1", "0"),
        ("1", "L", "1", "00:11:22:33:44:55", "10.0.0.1", "0"),
        ("1", "A", "", "00:11:22:33:44:55", "10.0.0.1", "0"),
        ("1", "A", "1", "00:11:22:33:44:55", "10.0.0.1", "44"),
        ("x", "A", "1", "00:11:22:33:44:55", "10.0.0.1", "0"),
        ("1", "A", "1", "00:11:22:33:44:55", "10.0.0.1", "zero"),
    ],
)
def test_invalid_board_rows(row: tuple[str, ...]) -> None:
    with pytest.raises(InvalidBoardError):
        make_board(*row)
