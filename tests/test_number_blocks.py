"""Per-site part number blocks: two sites adding parts offline never create the same number."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Casman


def _numbers(casman: Casman) -> list[str]:
    return [p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").output)]


def test_a_site_allocates_inside_its_block(casman: Casman, tmp_path: Path) -> None:
    casman.ok("parts", "add", "ANTENNA", "2", "1")  # the main site, from 1
    (tmp_path / "config.yaml").write_text(
        "site:\n  name: field\n  part_number_start: 50000\n  part_number_end: 50002\n"
    )
    casman.ok("parts", "add", "ANTENNA", "2", "1")
    assert _numbers(casman) == ["ANT00001P1", "ANT00002P1", "ANT50000P1", "ANT50001P1"]
    refused = casman.fails("parts", "add", "ANTENNA", "2", "1")
    assert "end of this site's block" in refused.stderr
    (tmp_path / "config.yaml").unlink()
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    # without a block the highest number of all continues (so give every site a block)
    assert _numbers(casman)[-1] == "ANT50002P1"


def test_an_impossible_block_is_one_line(casman: Casman, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("site:\n  part_number_start: 9\n  part_number_end: 3\n")
    result = casman.fails("parts", "add", "LNA", "1", "1")
    assert "part_number_start" in result.stderr and result.stderr.count("\n") == 1
    (tmp_path / "config.yaml").write_text("site:\n  part_number_start: lots\n")
    assert "whole number" in casman.fails("parts", "add", "LNA", "1", "1").stderr
