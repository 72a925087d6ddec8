"""Options of the old tool's sync answer with what replaced them, in one line."""

from __future__ import annotations

import pytest

from tests.conftest import Casman


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("sync", "sync", "--force"), "casman sync restore --at"),
        (("sync", "sync", "--parts"), "both databases always travel together"),
        (("sync", "backup", "--assembled"), "both databases always travel together"),
        (("sync", "backup", "--force"), "already published"),
        (("sync", "list", "--db", "parts.db"), "each checkpoint lists both files"),
        (("sync", "restore", "--no-backup"), "safety copy is always kept"),
    ],
)
def test_an_old_option_names_its_replacement(
    casman: Casman, args: tuple[str, ...], named: str
) -> None:
    result = casman.fails(*args, code=2)
    assert named in result.stderr and result.stderr.count("\n") == 1
    assert f"{args[2]} is gone" in result.stderr
    assert not casman.directory.exists()  # nothing was created or sent
