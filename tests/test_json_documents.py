"""One JSON shape per concept: what ``--json`` prints is what the web's API answers.

The database is the web tests' (tests/web_testdata.py): ANT00001 at CN002E03 with both
polarizations on configured boards, ANT00003 at CS021E06 (outside the kernel), boards
loaded from the deployed CSV.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest

from tests.conftest import Casman
from tests.web_testdata import build_web_database

flask = pytest.importorskip("flask")

from casman.web.app import create_app  # noqa: E402


@pytest.fixture
def site(casman: Casman) -> Casman:
    build_web_database(casman.directory)
    return casman


def cli_json(casman: Casman, *args: str) -> Any:
    return json.loads(casman.ok(*args, "--json").stdout)


def api_json(directory: Path, url: str) -> Any:
    response = create_app(directory).test_client().get(url)
    assert response.status_code == 200, response.data[:300]
    return response.get_json()


@pytest.mark.parametrize("query", ["ANT00001", "ANT00003", "CN002E03", "CC000E01"])
def test_antenna_show_is_the_api_antenna_document(site: Casman, query: str) -> None:
    shown = cli_json(site, "antenna", "show", query)
    assert shown == api_json(site.directory, f"/api/antenna/{query}")
    assert "kernel_index" in shown and "kernel_index_note" in shown
    assert shown["signals"]["P1"]["polarization"] == "P1"


def test_the_kernel_fields_say_why_there_is_no_index(site: Casman) -> None:
    inside = cli_json(site, "antenna", "show", "ANT00001")
    outside = cli_json(site, "antenna", "show", "ANT00003")
    assert isinstance(inside["kernel_index"], int) and inside["kernel_index_note"] is None
    assert outside["kernel_index"] is None and outside["kernel_index_note"]


def test_snap_show_is_the_api_board_document(site: Casman) -> None:
    assert cli_json(site, "snap", "show", "SNAP1A") == api_json(site.directory, "/api/board/SNAP1A")


def test_a_chain_is_the_same_document_in_the_cli_and_the_chains_api(site: Casman) -> None:
    chain = cli_json(site, "assembly", "chain", "ANT00001P1")
    listed = api_json(site.directory, "/api/chains?q=ANT00001P1")["chains"]
    assert listed == [chain]
    every = cli_json(site, "assembly", "chains")
    assert chain in every
    assert set(chain) == set(every[0])


def test_an_antennas_position_is_one_document(site: Casman) -> None:
    """``antenna list`` items are ``antenna show``'s position with its kernel fields."""
    listed = {item["antenna_number"]: item for item in cli_json(site, "antenna", "list")}
    shown = cli_json(site, "antenna", "show", "ANT00001")
    kernel = {key: shown[key] for key in ("kernel_index", "kernel_index_note")}
    assert listed["ANT00001"] == {**shown["position"], **kernel}


def test_a_boards_configuration_is_one_document(site: Casman) -> None:
    boards = {item["board"]: item for item in cli_json(site, "snap", "list")}
    shown = cli_json(site, "snap", "show", "SNAP1A")
    assert boards["SNAP1A"] == shown["config"]
    chain = cli_json(site, "assembly", "chain", "ANT00001P1")
    assert chain["board"] == shown["config"]


def test_database_print_json_has_every_row_of_every_table(site: Casman) -> None:
    everything = cli_json(site, "database", "print")
    assert everything["database_dir"] == str(site.directory)
    counts = {name: len(rows) for name, rows in everything["tables"].items()}
    assert {"parts", "assembly", "snap_boards", "antenna_positions"} <= set(counts)
    text = site.ok("database", "print").stdout
    for name, count in counts.items():
        assert f"== {name} ({count} rows) ==" in text
    only = cli_json(site, "database", "print", "--table", "snap_boards")
    assert list(only["tables"]) == ["snap_boards"]
    assert only["tables"]["snap_boards"] == everything["tables"]["snap_boards"]


def test_snap_list_text_and_empty(casman: Casman) -> None:
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    assert "No SNAP boards loaded" in casman.ok("snap", "list").stdout
    assert cli_json(casman, "snap", "list") == []


SHOWS_DATA = (
    "casman parts list",
    "casman assembly chain",
    "casman assembly chains",
    "casman assembly history",
    "casman antenna show",
    "casman antenna list",
    "casman snap show",
    "casman snap list",
    "casman database print",
    "casman config show",
    "casman config path",
    "casman plugins",
    "casman sync list",
    "casman sync status",
)


def test_every_command_that_shows_data_has_json() -> None:
    from casman.cli.reference import walk

    commands = {ctx.command_path: ctx.command for ctx in walk()}
    for path in SHOWS_DATA:
        options = [
            name
            for param in commands[path].params
            if isinstance(param, click.Option)
            for name in param.opts
        ]
        assert "--json" in options, path
