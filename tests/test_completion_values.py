"""Completion offers values, not only commands and options (driven as bash drives it)."""

from __future__ import annotations

import pytest

from tests.conftest import Casman
from tests.test_completion import complete

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("casman parts add ", {"ANTENNA", "ANT", "LNA", "COAXSHORT", "BAC"}),
        ("casman parts add co", {"COAXSHORT", "COAXLONG"}),
        ("casman parts add ANT 3 ", {"1", "2", "P1", "P2"}),
        ("casman parts list --type ", {"ANTENNA", "LNA"}),
        ("casman parts list --polarization P", {"P1", "P2"}),
        ("casman database print --table ", {"parts", "assembly", "snap_boards"}),
        ("casman snap show SNAP4", {"SNAP4A", "SNAP4K"}),
        ("casman sync --backend ", {"local", "s3", "r2", "fsspec"}),
    ],
)
def test_values_complete(words: str, expected: set[str]) -> None:
    offered = set(complete(words))
    assert expected <= offered
    typed = words.split()[-1] if not words.endswith(" ") else ""
    assert all(item.upper().startswith(typed.upper()) for item in offered)


def test_part_numbers_complete_from_the_databases(casman: Casman) -> None:
    casman.ok("parts", "add", "ANTENNA", "2", "1")
    casman.ok("parts", "add", "LNA", "1", "1")
    assert set(complete("casman assembly chain ANT")) == {"ANT00001P1", "ANT00002P1"}
    assert set(complete("casman assembly connect l")) == {"LNA00001P1"}
    assert set(complete("casman antenna show ANT")) == {"ANT00001", "ANT00002"}


def test_without_databases_completion_offers_nothing_and_says_nothing(casman: Casman) -> None:
    assert complete("casman assembly chain ANT") == []
    assert not casman.directory.exists()
