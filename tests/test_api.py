"""The Python API (``casman.open_array``) over a real database of the deployed boards.

The database is ``tests/web_testdata.py``'s: the real snap_boards.csv and grid_positions.csv
plus a few known chains (ANT00001 at CN002E03 → SNAP1A05 / SNAP2C07, ANT00003 at CS021E06,
whose position the kernel does not map, ANT00002 with an incomplete P1 and an
unconfigured board on P2, one legacy rule-breaking link).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import casman
from casman.array import (
    Antenna,
    Array,
    ArrayLookupError,
    Port,
    SignalChain,
    open_array,
)
from casman.db.connection import DatabaseFileError
from casman.domain.errors import DomainError
from casman.domain.kernel import KernelIndexError
from tests.conftest import REPO_ROOT, SNAP_CSV
from tests.web_testdata import build_web_database


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_web_database(tmp_path_factory.mktemp("api") / "database")


@pytest.fixture
def array(database: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Array:
    monkeypatch.delenv("CASMAN_CONFIG", raising=False)
    monkeypatch.delenv("CASMAN_AUTO_SYNC_ON_INSTALL", raising=False)
    monkeypatch.chdir(tmp_path)  # no config.yaml, no ./database
    return open_array(database)


def _digests(directory: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in ("parts.db", "assembled_casm.db")
    }


def _run(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- the acceptance command ------------------------------------------------------------


def test_acceptance_one_liner_prints_the_input(database: Path, tmp_path: Path) -> None:
    """``python -c "import casman; a = casman.open_array(); print(a.by_packet_index(5))"``."""
    done = _run(
        "import casman; a = casman.open_array(); print(a.by_packet_index(5))",
        {"CASMAN_DATABASE_DIR": str(database), "HOME": str(tmp_path)},
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ANT00001 at CN002E03, P1, SNAP1A port 5 ("), done.stdout
    assert done.stderr == ""


def test_import_casman_loads_nothing_and_the_api_needs_no_click_flask_or_boto3(
    tmp_path: Path,
) -> None:
    code = (
        "import sys, casman\n"
        "heavy = ('click', 'flask', 'boto3', 'botocore', 'yaml', 'sqlite3', 'casman.')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
        "casman.open_array\n"
        "print(sorted(m for m in sys.modules if m.startswith(('click', 'flask', 'boto3'))))\n"
    )
    done = _run(code, {"HOME": str(tmp_path)}, tmp_path)
    assert done.returncode == 0, done.stderr
    at_import, after_api = done.stdout.splitlines()
    assert at_import == "[]"
    assert after_api == "[]"


# -- answers ---------------------------------------------------------------------------


def test_antenna_has_position_coordinates_kernel_and_both_signals(array: Array) -> None:
    antenna = array.antenna("ant00001p2")  # any spelling of the antenna
    assert antenna == array.antenna("ANT00001") == array.at("cn002e03")
    assert antenna.number == "ANT00001"
    assert antenna.grid_code == "CN002E03"
    assert antenna.kernel_index == 116 and antenna.kernel_index_note is None
    assert antenna.coordinates is not None
    assert antenna.coordinates.latitude == 37.234294999
    assert antenna.coordinates.coordinate_system == "WGS84"
    # the real boards: SNAP1A is serial 152 / feng 0, SNAP2C is serial 143 / feng 14
    assert (antenna.p1.board, antenna.p1.port, antenna.p1.feng_id) == ("SNAP1A", 5, 0)
    assert antenna.p1.snap_port == "SNAP010105" and antenna.p1.snap_port_name == "SNAP1A05"
    assert (antenna.p2.board, antenna.p2.port, antenna.p2.feng_id) == ("SNAP2C", 7, 14)
    assert antenna.packet_indexes == (5, 175)
    assert antenna.signal("P2") is antenna.p2 and antenna.signal(1) is antenna.p1
    assert antenna.p1.complete and antenna.p1.problems == ()
    assert str(antenna).startswith("ANT00001 at CN002E03, kernel index 116: P1 SNAP1A port 5")


def test_by_packet_index_goes_through_board_and_chain(array: Array) -> None:
    port = array.by_packet_index(5)
    assert isinstance(port, Port)
    assert str(port).startswith("ANT00001 at CN002E03, P1, SNAP1A port 5")
    assert (port.polarization, port.grid_code, port.kernel_index) == ("P1", "CN002E03", 116)
    assert port.antenna == array.antenna("ANT00001")
    p2 = array.by_packet_index(175)  # feng 14 × 12 + 7
    assert (p2.antenna and p2.antenna.number, p2.polarization, p2.snap_port_name) == (
        "ANT00001",
        "P2",
        "SNAP2C07",
    )
    assert p2.coordinates == port.coordinates


def test_packet_index_of_an_unconnected_port_and_of_no_board(array: Array) -> None:
    empty = array.by_packet_index(6)  # SNAP1A port 6: configured, nothing connected
    assert empty.antenna is None and empty.chain is None and not empty.connected
    assert empty.packet_index == 6 and empty.feng_id == 0
    assert str(empty) == "SNAP1A port 6 (SNAP1A06, feng id 0, packet index 6): no antenna connected"
    with SNAP_CSV.open(newline="") as handle:
        configured = {int(row["feng_id"]) for row in csv.DictReader(handle)}
    unused = min(set(range(44)) - configured)
    with pytest.raises(ArrayLookupError, match=f"no SNAP board has feng_id {unused}"):
        array.by_packet_index(unused * 12)
    with pytest.raises(DomainError, match="out of range"):
        array.by_packet_index(528)


def test_kernel_index_lookups_and_the_unmapped_position(array: Array) -> None:
    assert array.by_kernel_index(116) == array.antenna("ANT00001")
    assert array.by_kernel_index(126) == array.antenna("ANT00002")  # CC000E01
    with pytest.raises(ArrayLookupError, match="kernel index 0 is CN021E01: no antenna"):
        array.by_kernel_index(0)
    with pytest.raises(KernelIndexError, match="not mapped"):
        array.by_kernel_index(256)
    unmapped = array.antenna("ANT00003")
    assert unmapped.grid_code == "CS021E06" and unmapped.kernel_index is None
    assert "CS021E06 is not mapped" in (unmapped.kernel_index_note or "")
    assert array.by_packet_index(60).kernel_index is None  # SNAP4F00, feng 5
    assert array.kernel_index("CS021E04") == 255 and array.kernel_index("CS021E05") is None
    assert array.grid_code_for_kernel_index(131) == "CC000E06"


def test_chain_through_any_part(array: Array) -> None:
    chain = array.chain("LNA00001P1")
    assert isinstance(chain, SignalChain)
    assert chain.parts == (
        "ANT00001P1",
        "LNA00001P1",
        "CXS00001P1",
        "CXL00001P1",
        "BAC00001P1",
        "SNAP010105",
    )
    assert (
        chain
        == array.chain("SNAP1A05")
        == array.chain("snap010105")
        == array.antenna("ANT00001").p1
    )
    assert chain.packet_index == 5 and chain.connected
    incomplete = array.chain("CXS00002P1")
    assert not incomplete.complete and incomplete.snap_port is None
    assert any("incomplete" in problem for problem in incomplete.problems)
    unconfigured = array.antenna("ANT00002").p2
    assert unconfigured.snap_port_name == "SNAP4K11" and unconfigured.packet_index is None
    assert any("no SNAP board configured" in problem for problem in unconfigured.problems)
    legacy = array.chain("LNA00003P2")  # LNA → COAXLONG skips COAXSHORT (old data)
    assert legacy.problems and not legacy.complete
    assert array.chain("SNAP3A00").parts == ("SNAP030100",)  # a port is always known
    with pytest.raises(ArrayLookupError, match="part LNA00099P1 does not exist"):
        array.chain("LNA00099P1")
    with pytest.raises(DomainError):
        array.chain("LNA1")


def test_snap_board_with_its_twelve_ports(array: Array) -> None:
    board = array.snap_board("SNAP1A")
    assert (board.configured, board.serial_number, board.feng_id) == (True, "152", 0)
    assert [port.packet_index for port in board.ports] == list(range(12))
    assert board.port(5) == array.by_packet_index(5)
    assert [p.port for p in board.ports if p.connected] == [5]
    unconfigured = array.snap_board("4K")
    assert not unconfigured.configured and unconfigured.feng_id is None
    assert unconfigured.port(11).antenna == array.antenna("ANT00002")
    assert unconfigured.port(11).packet_index is None
    quiet = array.snap_board("SNAP1B")  # configured, its one port disconnected again
    assert quiet.configured and not any(port.chain for port in quiet.ports)
    with pytest.raises(ArrayLookupError, match="SNAP4J is not configured and nothing"):
        array.snap_board("SNAP4J")


def test_iteration_covers_every_antenna(array: Array) -> None:
    assert [antenna.number for antenna in array] == ["ANT00001", "ANT00002", "ANT00003"]
    assert len(array) == 3 and "ANT00002P1" in array and "ANT00009" not in array
    assert all(isinstance(antenna, Antenna) for antenna in array.antennas())
    with pytest.raises(ArrayLookupError, match="antenna ANT00009 does not exist"):
        array.antenna("ANT00009")
    with pytest.raises(ArrayLookupError, match="CN010E04: no antenna assigned"):
        array.at("CN010E04")


def test_packet_map_is_in_packet_index_order(array: Array) -> None:
    connected = array.packet_map()
    assert [
        (p.packet_index, p.antenna and p.antenna.number, p.polarization) for p in connected
    ] == [
        (5, "ANT00001", "P1"),
        (60, "ANT00003", "P1"),
        (175, "ANT00001", "P2"),
    ]
    everything = array.packet_map(include_unconnected=True)
    indexes = [port.packet_index for port in everything]
    assert len(everything) == 39 * 12 and indexes == sorted(indexes)
    assert all(p.packet_index == (p.feng_id or 0) * 12 + p.port for p in everything)


def test_answers_are_frozen_hashable_values(array: Array, database: Path) -> None:
    antenna = array.antenna("ANT00001")
    with pytest.raises(dataclasses.FrozenInstanceError):
        antenna.grid_code = "CC000E01"  # type: ignore[misc]
    assert hash(antenna) == hash(open_array(database).antenna("ANT00001"))
    assert {array.by_packet_index(5), array.by_packet_index(5)} == {array.by_packet_index(5)}


# -- read-only -------------------------------------------------------------------------


def test_opening_and_asking_leaves_the_files_byte_identical(database: Path) -> None:
    before = _digests(database)
    names_before = {p.name for p in database.iterdir() if not p.name.endswith(("-wal", "-shm"))}
    for _ in range(3):
        array = open_array(database)
        list(array)
        array.packet_map(include_unconnected=True)
        array.snap_board("SNAP4K")
    assert _digests(database) == before
    names_after = {p.name for p in database.iterdir() if not p.name.endswith(("-wal", "-shm"))}
    assert names_after == names_before


def test_a_writer_takes_the_write_lock_while_arrays_are_open(tmp_path: Path) -> None:
    directory = build_web_database(tmp_path / "database")
    array = open_array(directory)
    writer = sqlite3.connect(directory / "parts.db", timeout=0, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # would fail at once if a reader held a lock
        writer.execute(
            "INSERT INTO parts (part_number, part_type, polarization, date_created,"
            " date_modified) VALUES ('ANT00009P1', 'ANTENNA', 'P1', 'x', 'x')"
        )
        during = open_array(directory)  # a reader is not blocked by the writer either
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert "ANT00009" not in array and "ANT00009" not in during  # each is a snapshot
    assert "ANT00009" in open_array(directory)


def test_a_missing_directory_is_one_error_and_nothing_is_created(tmp_path: Path) -> None:
    with pytest.raises(DatabaseFileError, match="does not exist"):
        open_array(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatabaseFileError, match=r"parts\.db is missing"):
        open_array(tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []


# -- where the databases are, and the kernel from config ----------------------------------


def test_default_directory_follows_the_cli(
    database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASMAN_CONFIG", raising=False)
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(database))
    assert casman.open_array().database_dir == database
    monkeypatch.delenv("CASMAN_DATABASE_DIR")
    (tmp_path / "config.yaml").write_text(f"database:\n  dir: {database}\n")
    assert open_array().database_dir == database


def test_kernel_configuration_applies(database: Path, tmp_path: Path) -> None:
    config = tmp_path / "casman.yaml"
    config.write_text("grid:\n  kernel_index:\n    C: {max_index: 115}\n")
    array = open_array(database, config=config)
    antenna = array.antenna("ANT00001")
    assert antenna.kernel_index is None
    assert "past the last one (115)" in (antenna.kernel_index_note or "")
    with pytest.raises(KernelIndexError):
        array.by_kernel_index(116)


def test_the_worked_example_runs_on_a_real_database(database: Path, tmp_path: Path) -> None:
    before = _digests(database)
    done = _run(
        f"import runpy, sys; sys.argv = ['x', {str(database)!r}]; "
        f"runpy.run_path({str(REPO_ROOT / 'examples' / 'pipeline_example.py')!r}, "
        "run_name='__main__')",
        {"HOME": str(tmp_path)},
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "packet index 5: ANT00001 at CN002E03, P1, SNAP1A port 5" in done.stdout
    assert "    5 → ANT00001 P1 at CN002E03 kernel 116" in lines
    assert "   60 → ANT00003 P1 at CS021E06 kernel None" in lines
    assert any(
        line.startswith("ANT00003: no kernel index (CS021E06 is not mapped") for line in lines
    )
    assert "lookup: CN021E01: no antenna assigned" in lines
    assert _digests(database) == before
