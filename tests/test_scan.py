"""The barcode-scanner loop, fed through a pipe as a scanner would type."""

from __future__ import annotations

import json

from tests.conftest import Casman, add_all_types


def test_scan_connects_pairs_until_empty_line(casman: Casman) -> None:
    add_all_types(casman, 2, "1")
    typed = "ANT00001P1\nlna00001p1\n LNA00001P1 \nCXS00001P1\n\nANT00002P1\nLNA00002P1\n"
    result = casman.ok("scan", "connection", input=typed)
    assert "✓ ANT00001P1 → LNA00001P1" in result.output
    assert "✓ LNA00001P1 → CXS00001P1" in result.output
    assert "2 connection(s) recorded, 0 refused" in result.stderr
    chain = json.loads(casman.ok("assembly", "chain", "ANT00001P1", "--json").output)
    assert chain["parts"] == ["ANT00001P1", "LNA00001P1", "CXS00001P1"]
    # the pair after the empty line was not recorded
    assert json.loads(casman.ok("assembly", "history", "ANT00002P1", "--json").output) == []


def test_bad_scans_are_reported_and_the_loop_goes_on(casman: Casman) -> None:
    add_all_types(casman, 2, "1")
    typed = "GARBAGE\nANT00001P1\nLNA00001P2\nANT00002P1\nLNA00002P1\n"
    result = casman.fails("scan", "connection", input=typed)
    assert "'GARBAGE' is not a part number" in result.stderr
    assert "polarization" in result.stderr
    assert "1 connection(s) recorded, 1 refused" in result.stderr
    assert "✓ ANT00002P1 → LNA00002P1" in result.output


def test_eof_ends_the_loop_and_a_lone_source_is_not_recorded(casman: Casman) -> None:
    add_all_types(casman, 1, "1")
    result = casman.fails("scan", "connection", input="ANT00001P1\n")
    assert "without a target" in result.stderr
    assert json.loads(casman.ok("assembly", "history", "ANT00001P1", "--json").output) == []


def test_scan_disconnection(casman: Casman) -> None:
    add_all_types(casman, 1, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    result = casman.ok("scan", "disconnection", input="ANT00001P1\nLNA00001P1\n")
    assert "1 disconnection(s) recorded" in result.stderr
    events = json.loads(casman.ok("assembly", "history", "ANT00001P1", "--json").output)
    assert [e["connection_status"] for e in events] == ["connected", "disconnected"]
