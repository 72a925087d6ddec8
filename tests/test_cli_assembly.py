"""``casman assembly``: connect, disconnect, chain, history; the event log stays append-only."""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import SNAP_CSV, Casman, add_all_types, build_chain


def _events(casman: Casman) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(casman.directory / "assembled_casm.db")
    rows = conn.execute("SELECT * FROM assembly ORDER BY id").fetchall()
    conn.close()
    return rows


def test_full_chain_with_packet_index(casman: Casman) -> None:
    add_all_types(casman, 2, "1")
    casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV))
    parts = build_chain(casman, 2, "P1", "SNAP2A05")  # real file: SNAP2A is serial 164, feng_id 12
    info = json.loads(casman.ok("assembly", "chain", "CXL00002P1", "--json").output)
    assert info["parts"] == [*parts, "SNAP020105"]
    assert info["complete"] is True
    assert info["board"]["serial_number"] == "164"
    assert info["board"]["feng_id"] == 12
    assert info["packet_index"] == 12 * 12 + 5
    text = casman.ok("assembly", "chain", "ANT00002P1").output
    assert "packet index 149" in text and "serial 164" in text


def test_events_record_both_sides(casman: Casman) -> None:
    add_all_types(casman, 1, "2")
    casman.ok("assembly", "connect", "ant00001p2", " LNA00001P2 ")
    (row,) = _events(casman)
    _, part, ptype, pol, scan, target, ttype, tpol, tscan, status = row
    assert (part, ptype, pol, target, ttype, tpol, status) == (
        "ANT00001P2",
        "ANTENNA",
        "P2",
        "LNA00001P2",
        "LNA",
        "P2",
        "connected",
    )
    assert str(scan).endswith("Z") and str(tscan).endswith("Z")


def test_disconnect_appends_and_frees_both_sides(casman: Casman) -> None:
    add_all_types(casman, 2, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    casman.ok("assembly", "disconnect", "ANT00001P1", "LNA00001P1")
    assert [row[-1] for row in _events(casman)] == ["connected", "disconnected"]
    casman.ok("assembly", "connect", "ANT00002P1", "LNA00001P1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00002P1")
    history = json.loads(casman.ok("assembly", "history", "LNA00001P1", "--json").output)
    assert [(e["part_number"], e["connection_status"]) for e in history] == [
        ("ANT00001P1", "connected"),
        ("ANT00001P1", "disconnected"),
        ("ANT00002P1", "connected"),
    ]
    assert len(_events(casman)) == 4


def test_disconnecting_what_is_not_connected_fails(casman: Casman) -> None:
    add_all_types(casman, 1, "1")
    result = casman.fails("assembly", "disconnect", "ANT00001P1", "LNA00001P1")
    assert "not connected" in result.stderr
    assert _events(casman) == []


def test_snap_port_row_is_created_on_first_use(casman: Casman) -> None:
    add_all_types(casman, 1, "1")
    build_chain(casman, 1, "P1", "SNAP1A00")
    rows = json.loads(casman.ok("parts", "list", "--type", "SNAP", "--json").output)
    assert [(r["part_number"], r["polarization"]) for r in rows] == [("SNAP010100", None)]


def test_snap_port_accepts_either_polarization_but_only_one_input(casman: Casman) -> None:
    add_all_types(casman, 1, "1")
    add_all_types(casman, 1, "2")
    build_chain(casman, 1, "P2", "SNAP010101")
    result = casman.fails("assembly", "connect", "BAC00001P1", "SNAP1A01")
    assert "already receives BAC00001P2" in result.stderr


def test_chain_of_unconnected_part_and_unknown_part(casman: Casman) -> None:
    casman.ok("parts", "add", "LNA", "1", "1")
    info = json.loads(casman.ok("assembly", "chain", "LNA00001P1", "--json").output)
    assert info["parts"] == ["LNA00001P1"] and info["complete"] is False
    assert "does not exist" in casman.fails("assembly", "chain", "LNA00002P1").stderr


def test_history_text(casman: Casman) -> None:
    add_all_types(casman, 1, "1")
    assert "No events" in casman.ok("assembly", "history", "ANT00001P1").output
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    assert "connected" in casman.ok("assembly", "history", "ANT00001P1").output
