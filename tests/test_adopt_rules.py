"""The adoption rules one by one: times across daylight saving, zones, and their documentation."""

from __future__ import annotations

import re

import pytest

from casman.db.adopt import KEPT, RULES, parse_zone
from casman.db.adopt.rules import read_grid_code, read_part, upstream_first
from casman.db.adopt.times import map_time
from casman.domain.parts import PartType
from casman.errors import UsageError
from tests.conftest import REPO_ROOT

NEW_YORK = parse_zone("America/New_York")


@pytest.mark.parametrize(
    ("stored", "expected", "rule"),
    [
        ("2025-11-17 16:02:30", "2025-11-17T21:02:30Z", "local-time"),  # winter, −05:00
        ("2025-07-01 16:02:30", "2025-07-01T20:02:30Z", "local-time"),  # summer, −04:00
        ("2025-07-01T16:02:30.999", "2025-07-01T20:02:30Z", "local-time"),
        ("2025-07-01T16:02:30+02:00", "2025-07-01T14:02:30Z", "utc-time-spelling"),
        ("2025-07-01T16:02:30.5Z", "2025-07-01T16:02:30Z", "utc-time-spelling"),
        ("2025-07-01T16:02:30Z", "2025-07-01T16:02:30Z", None),
        (None, None, None),
    ],
)
def test_times_become_utc_by_their_rule(
    stored: str | None, expected: str | None, rule: str | None
) -> None:
    mapped = map_time(stored, NEW_YORK)
    assert (mapped.value, mapped.rule, mapped.kept) == (expected, rule, None)


def test_times_that_cannot_be_read_are_kept_and_daylight_changes_flagged() -> None:
    for odd in ("not a time", "2025-11-17", "2025-02-30 10:00:00", 1731876150):
        assert map_time(odd, NEW_YORK).value == odd
        assert map_time(odd, NEW_YORK).kept == "unknown-time"
    twice = map_time("2025-11-02 01:30:00", NEW_YORK)  # the hour that happened twice
    assert (twice.value, twice.kept) == ("2025-11-02T05:30:00Z", "ambiguous-local-time")
    skipped = map_time("2025-03-09 02:30:00", NEW_YORK)  # the hour that never happened
    assert skipped.kept == "ambiguous-local-time"


def test_zones_by_name_offset_or_utc_and_a_wrong_one_is_one_line() -> None:
    assert map_time("2025-01-01 00:00:00", parse_zone("-05:30")).value == "2025-01-01T05:30:00Z"
    assert map_time("2025-01-01 00:00:00", parse_zone("UTC")).value == "2025-01-01T00:00:00Z"
    with pytest.raises(UsageError, match="unknown time zone 'Nowhere/Else'"):
        parse_zone("Nowhere/Else")
    with pytest.raises(UsageError, match="beyond ±14:00"):
        parse_zone("+15:00")


def test_part_numbers_grid_codes_and_chain_order() -> None:
    facts = read_part(" snap1a05")
    assert facts is not None and facts.number == "SNAP010105" and facts.polarization is None
    assert read_part("ANTP1-00001") is None
    code = read_grid_code("cs000e04 ")
    assert code is not None and code.code == "CC000E04"
    assert read_grid_code("ON001E01") is None
    assert upstream_first(PartType.LNA, PartType.ANTENNA) is True
    assert upstream_first(PartType.ANTENNA, PartType.LNA) is False
    assert upstream_first(None, PartType.LNA) is None


def test_every_rule_and_kept_kind_is_documented_for_users() -> None:
    text = (REPO_ROOT / "docs" / "migrating.md").read_text()
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.MULTILINE))
    assert set(RULES) | set(KEPT) <= documented
    assert documented <= set(RULES) | set(KEPT)
