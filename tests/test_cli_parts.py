"""``casman parts``: numbering, listing, JSON."""

from __future__ import annotations

import json

from tests.conftest import Casman


def test_add_prints_the_new_numbers_and_counts_polarizations_independently(casman: Casman) -> None:
    first = casman.ok("parts", "add", "ANTENNA", "3", "1")
    assert [line.strip() for line in first.stdout.splitlines()[1:]] == [
        "ANT00001P1",
        "ANT00002P1",
        "ANT00003P1",
    ]
    second = casman.ok("parts", "add", "ANT", "2", "P2", "--json")
    assert json.loads(second.output)["created"] == ["ANT00001P2", "ANT00002P2"]
    third = casman.ok("parts", "add", "ant", "1", "p1", "--json")
    assert json.loads(third.output)["created"] == ["ANT00004P1"]


def test_list_filters_and_json(casman: Casman) -> None:
    casman.ok("parts", "add", "LNA", "2", "1")
    casman.ok("parts", "add", "LNA", "1", "2")
    casman.ok("parts", "add", "CXS", "1", "1")
    rows = json.loads(casman.ok("parts", "list", "--type", "LNA", "--json").output)
    assert [r["part_number"] for r in rows] == ["LNA00001P1", "LNA00001P2", "LNA00002P1"]
    assert {r["part_type"] for r in rows} == {"LNA"}
    p2 = json.loads(casman.ok("parts", "list", "--polarization", "2", "--json").output)
    assert [r["part_number"] for r in p2] == ["LNA00001P2"]
    assert p2[0]["date_created"].endswith("Z")
    text = casman.ok("parts", "list").output
    assert "CXS00001P1" in text and "4 part(s)" in text


def test_snap_parts_cannot_be_added(casman: Casman) -> None:
    result = casman.fails("parts", "add", "SNAP", "1", "1")
    assert "SNAP ports are not added" in result.stderr


def test_bad_arguments(casman: Casman) -> None:
    assert "unknown part type" in casman.fails("parts", "add", "DISH", "1", "1").stderr
    assert "polarization" in casman.fails("parts", "add", "LNA", "1", "3").stderr
    casman.fails("parts", "add", "LNA", "0", "1", code=2)
    casman.fails("parts", "add", "LNA", "many", "1", code=2)
    casman.fails("parts", "add", "LNA", code=2)


def test_every_command_has_help(casman: Casman) -> None:
    from casman.cli import LAZY_COMMANDS

    for name in LAZY_COMMANDS:
        if name in ("web",):
            continue
        assert "Usage:" in casman.ok(name, "--help").output
