"""Gaps from the seeds: reverse-order disconnects, taking a part out of service, all chains,
and the seed's `casman sync backup parts.db` spelling (refused: a checkpoint holds both
databases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Casman, add_all_types, build_chain


def _events(casman: Casman, part: str) -> list[dict[str, str]]:
    return list(json.loads(casman.ok("assembly", "history", part, "--json").stdout))


def test_a_disconnect_scanned_target_first_is_recorded_in_chain_direction(
    casman: Casman,
) -> None:
    add_all_types(casman, 1, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    out = casman.ok("assembly", "disconnect", "LNA00001P1", "ANT00001P1").stdout
    assert "Disconnected ANT00001P1 ↛ LNA00001P1" in out
    last = _events(casman, "ANT00001P1")[-1]
    assert (last["part_number"], last["connected_to"], last["connection_status"]) == (
        "ANT00001P1",
        "LNA00001P1",
        "disconnected",
    )
    # the pair is free again: it can be connected anew
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    refused = casman.fails("assembly", "disconnect", "LNA00001P1", "CXS00001P1")
    assert "not connected" in refused.stderr


def test_a_piped_reverse_disconnect_keeps_each_scan_time(casman: Casman) -> None:
    add_all_types(casman, 1, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    casman.ok("scan", "disconnection", input="LNA00001P1\nANT00001P1\n")
    last = _events(casman, "ANT00001P1")[-1]
    assert last["part_number"] == "ANT00001P1" and last["connection_status"] == "disconnected"
    # the LNA was scanned first: its time is the target's scan time, never later than the
    # antenna's
    assert last["connected_scan_time"] <= last["scan_time"]


def test_taking_a_part_out_of_service_ends_every_live_link(casman: Casman) -> None:
    add_all_types(casman, 2, "1")
    build_chain(casman, 1, "P1", "SNAP1A00")
    out = casman.ok("assembly", "remove", "CXS00001P1").stdout
    assert "Disconnected LNA00001P1 ↛ CXS00001P1" in out
    assert "Disconnected CXS00001P1 ↛ CXL00001P1" in out
    chain = json.loads(casman.ok("assembly", "chain", "CXS00001P1", "--json").stdout)
    assert chain["parts"] == ["CXS00001P1"]
    # ordinary events: the log still holds the connects, followed by the disconnects
    statuses = [e["connection_status"] for e in _events(casman, "CXS00001P1")]
    assert statuses == ["connected", "connected", "disconnected", "disconnected"]
    again = casman.fails("assembly", "remove", "CXS00001P1")
    assert "no live connection" in again.stderr


def test_assembly_chains_lists_every_chain_and_its_problems(casman: Casman) -> None:
    add_all_types(casman, 2, "1")
    build_chain(casman, 1, "P1", "SNAP1A00")
    casman.ok("assembly", "connect", "ANT00002P1", "LNA00002P1")
    everything = json.loads(casman.ok("assembly", "chains", "--json").stdout)
    assert {tuple(c["parts"][:2]) for c in everything} == {
        ("ANT00001P1", "LNA00001P1"),
        ("ANT00002P1", "LNA00002P1"),
    }
    incomplete = json.loads(casman.ok("assembly", "chains", "--incomplete", "--json").stdout)
    assert ["ANT00002P1", "LNA00002P1"] in [c["parts"] for c in incomplete]
    assert all(c["problems"] for c in incomplete)
    text = casman.ok("assembly", "chains").stdout
    assert "✗ ANT00002P1 → LNA00002P1" in text and "incomplete chain" in text
    assert text.rstrip().endswith("2 chain(s), 2 incomplete or breaking a rule")


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "remote"))
    return tmp_path / "remote"


def test_the_seed_spelling_sync_backup_parts_db(casman: Casman, remote: Path) -> None:
    """A checkpoint always holds both databases (docs/sync.md), so the seed's one-database
    spelling is refused in one line before anything is sent; `sync backup` stores both."""
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    refused = casman.fails("sync", "backup", "parts.db", code=2)
    assert refused.stdout == "" and refused.stderr.count("\n") == 1
    assert "parts.db" in refused.stderr
    assert not remote.exists()
    out = casman.ok("sync", "backup").stdout
    assert "parts.db: checkpoint backups/parts.db/" in out
    assert "assembled_casm.db: checkpoint backups/assembled_casm.db/" in out
