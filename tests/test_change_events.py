"""Every committed change is announced exactly once, whatever command made it.

Automatic backups hang on this (the ``casman_after_change`` hook), so a command that
forgets to announce would silently never be backed up.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casman.db.changes import Change, subscribe, unsubscribe
from casman.storage.plugins import get_plugin_manager
from tests.conftest import SNAP_CSV, Casman, copy_examples


@pytest.fixture
def announced() -> Iterator[list[tuple[Path, Change]]]:
    seen: list[tuple[Path, Change]] = []

    def listener(directory: Path, change: Change) -> None:
        seen.append((directory, change))

    subscribe(listener)
    yield seen
    unsubscribe(listener)


def _kinds(seen: list[tuple[Path, Change]]) -> list[tuple[str, str, int]]:
    return [(c.db_name, c.kind, c.count) for _, c in seen]


def test_every_change_command_announces_once(
    casman: Casman, announced: list[tuple[Path, Change]], tmp_path: Path
) -> None:
    snap, grid = copy_examples(tmp_path)
    casman.ok("parts", "add", "ANTENNA", "2", "1")
    casman.ok("parts", "add", "LNA", "2", "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    casman.ok("assembly", "disconnect", "ANT00001P1", "LNA00001P1")
    casman.ok("scan", "connection", input="ANT00002P1\nLNA00002P1\n")
    casman.ok("antenna", "assign", "ANT00001", "CN002E03")
    casman.ok("antenna", "remove", "ANT00001")
    casman.ok("database", "load-snap-boards", "--csv", str(snap))
    casman.ok("database", "load-coordinates", "--csv", str(grid))
    casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV))  # unchanged: no event
    casman.ok("parts", "list")  # reading announces nothing
    casman.fails("assembly", "connect", "ANT00002P1", "LNA00001P1")  # refused: nothing
    assert _kinds(announced) == [
        ("parts.db", "parts add", 2),
        ("parts.db", "parts add", 2),
        ("assembled_casm.db", "connect", 1),
        ("assembled_casm.db", "disconnect", 1),
        ("assembled_casm.db", "connect", 1),
        ("parts.db", "assign", 1),
        ("parts.db", "remove", 1),
        ("parts.db", "load-snap-boards", 39),
        ("parts.db", "load-coordinates", 258),
    ]
    assert {directory for directory, _ in announced} == {casman.directory}


def test_the_after_change_hook_is_documented_and_reaches_plugins(
    casman: Casman, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casman.storage import hookimpl, hookspecs

    assert hookspecs.casman_after_change.__doc__
    seen: list[str] = []

    class Recorder:
        @hookimpl
        def casman_after_change(self, config: object, database_dir: Path, change: Change) -> None:
            seen.append(change.kind)

    pm = get_plugin_manager()
    pm.register(Recorder(), name="test-recorder")
    try:
        casman.ok("parts", "add", "ANTENNA", "1", "1")
    finally:
        pm.unregister(name="test-recorder")
    assert seen == ["parts add"]


def test_a_failing_reaction_never_fails_the_change(
    casman: Casman, announced: list[tuple[Path, Change]]
) -> None:
    def broken(directory: Path, change: Change) -> None:
        raise RuntimeError("boom")

    subscribe(broken)
    try:
        casman.ok("parts", "add", "ANTENNA", "1", "1")
    finally:
        unsubscribe(broken)
    assert "ANT00001P1" in casman.ok("parts", "list").output
