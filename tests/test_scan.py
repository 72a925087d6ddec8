"""The barcode-scanner loop, fed through a pipe as a scanner would type."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casman.cli.scan_cmd import MAX_SCAN_CHARS, _Pair, _piped_scans, _read_line, _Refusal
from casman.domain.connections import parse_part
from casman.errors import CasmanError
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


def _history(casman: Casman, part: str) -> list[dict[str, str]]:
    events = json.loads(casman.ok("assembly", "history", part, "--json").output)
    assert isinstance(events, list)
    return events


def _links(casman: Casman, parts: list[str]) -> set[tuple[str, str]]:
    """Every (source, target) recorded for any of ``parts``."""
    return {
        (event["part_number"], event["connected_to"])
        for part in parts
        for event in _history(casman, part)
    }


def test_piped_bad_line_costs_its_own_pair_only(casman: Casman) -> None:
    """A malformed line in source and in target position: exactly the intended pairs.

    The old loop re-asked for the same role, so after ``BADSCAN`` (a target) it took the
    next line, LNA00001P1, as ANT00001P1's target and recorded ANT00001P1 → LNA00001P1,
    a pair that is nowhere in the input, and every later pair shifted by one.
    """
    add_all_types(casman, 3, "1")
    typed = (
        "GARBAGE\nLNA00003P1\n"  # lines 1-2: bad source
        "ANT00001P1\nBADSCAN\n"  # lines 3-4: bad target
        "LNA00001P1\nCXS00001P1\n"  # lines 5-6: good
        "ANT00002P1\nLNA00002P1\n"  # lines 7-8: good
    )
    result = casman.fails("scan", "connection", input=typed)
    assert "✗ line 1: 'GARBAGE' is not a part number" in result.stderr
    assert "✗ line 4: 'BADSCAN' is not a part number" in result.stderr
    assert "2 connection(s) recorded, 2 refused" in result.stderr
    parts = ["ANT00001P1", "LNA00001P1", "ANT00002P1", "LNA00003P1", "CXS00001P1"]
    assert _links(casman, parts) == {
        ("LNA00001P1", "CXS00001P1"),
        ("ANT00002P1", "LNA00002P1"),
    }


def test_piped_rule_violation_names_its_lines_and_the_loop_goes_on(casman: Casman) -> None:
    add_all_types(casman, 2, "1")
    typed = "ANT00001P1\nLNA00001P2\nANT00002P1\nLNA00002P1\n"
    result = casman.fails("scan", "connection", input=typed)
    assert "✗ lines 1-2:" in result.stderr and "polarization" in result.stderr
    assert "✓ ANT00002P1 → LNA00002P1" in result.output
    assert "1 connection(s) recorded, 1 refused" in result.stderr


def test_piped_odd_last_line_is_reported_with_its_number(casman: Casman) -> None:
    add_all_types(casman, 2, "1")
    result = casman.fails("scan", "connection", input="ANT00001P1\nLNA00001P1\nANT00002P1\n")
    assert "✗ line 3: ANT00002P1 scanned without a target; nothing recorded" in result.stderr
    assert "1 connection(s) recorded, 1 refused" in result.stderr
    assert _history(casman, "ANT00002P1") == []


def test_an_endless_line_is_one_bad_scan_not_many() -> None:
    stream = io.StringIO("A" * (3 * MAX_SCAN_CHARS) + "\nANT00001P1\n")
    first = _read_line(stream)
    assert first is not None and first.startswith("AAAA") and len(first) < 50
    assert _read_line(stream) == "ANT00001P1\n"
    assert _read_line(stream) is None


_VALID = st.sampled_from(["ANT00001P1", "LNA00002P2", "snap1a05", " CXS00003P1 ", "SNAP010203"])
_MALFORMED = st.sampled_from(["GARBAGE", "ANT0001P1", "LNA00001P3", "SNAP5Z99", "ant00001p"])


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.one_of(_VALID, _MALFORMED), st.one_of(_VALID, _MALFORMED))),
    odd=st.one_of(st.none(), _VALID, _MALFORMED),
)
def test_piped_pairing_never_shifts(pairs: list[tuple[str, str]], odd: str | None) -> None:
    """Whatever lines are malformed, the recorded pairs are exactly the well-formed pairs
    of lines (1, 2), (3, 4) …, and each refusal names the bad line's own number."""
    lines = [line + "\n" for pair in pairs for line in pair]
    if odd is not None:
        lines.append(odd + "\n")
    scans = list(_piped_scans(lines))

    def ok(text: str) -> bool:
        try:
            parse_part(text)
        except CasmanError:
            return False
        return True

    wanted = [
        (parse_part(s).part_number, parse_part(t).part_number) for s, t in pairs if ok(s) and ok(t)
    ]
    got = [(s.source.part_number, s.target.part_number) for s in scans if isinstance(s, _Pair)]
    assert got == wanted
    refusals = [s.message for s in scans if isinstance(s, _Refusal)]
    expected_refusals = sum(1 for s, t in pairs if not (ok(s) and ok(t))) + (odd is not None)
    assert len(refusals) == expected_refusals
    bad_lines = [
        number for number, line in enumerate(lines[: 2 * len(pairs)], start=1) if not ok(line)
    ]
    for number in bad_lines:
        assert any(f"line {number}: " in message for message in refusals)
    if odd is not None:
        assert f"line {2 * len(pairs) + 1}: " in refusals[-1]


def test_interactive_bad_scan_is_asked_again(tmp_path: Path) -> None:
    """At a terminal (a real pty), a bad scan is re-asked in the same role: the technician
    saw the ✗ and rescans, so GARBAGE then ANT00001P1 then LNA00001P1 is one connection."""
    pty = pytest.importorskip("pty")
    env = {
        **os.environ,
        "CASMAN_DATABASE_DIR": str(tmp_path / "db"),
        "HOME": str(tmp_path / "home"),
    }
    env.pop("CASMAN_CONFIG", None)
    command = [sys.executable, "-m", "casman"]
    for part_type in ("ANTENNA", "LNA"):
        subprocess.run([*command, "parts", "add", part_type, "1", "1"], env=env, check=True)
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            [*command, "scan", "connection"],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        os.close(slave)
        os.write(master, b"GARBAGE\nANT00001P1\nLNA00001P1\n\n")
        out, err = process.communicate(timeout=120)
    finally:
        os.close(master)
    assert process.returncode == 0, err.decode()
    assert "✓ ANT00001P1 → LNA00001P1" in out.decode()
    assert "'GARBAGE' is not a part number" in err.decode()
    assert "1 connection(s) recorded, 0 refused" in err.decode()


@pytest.mark.slow
def test_real_pipe_records_exactly_the_intended_pairs(tmp_path: Path) -> None:
    """The same as the CliRunner test, through a real OS pipe into the installed command."""
    env = {
        **os.environ,
        "CASMAN_DATABASE_DIR": str(tmp_path / "db"),
        "HOME": str(tmp_path / "home"),
    }
    env.pop("CASMAN_CONFIG", None)
    command = [sys.executable, "-m", "casman"]
    for part_type in ("ANTENNA", "LNA"):
        subprocess.run([*command, "parts", "add", part_type, "3", "1"], env=env, check=True)
    typed = "ANT00001P1\nNOTAPART\nLNA00001P1\nANT00002P1\nANT00003P1\nLNA00003P1\n"
    done = subprocess.run(
        [*command, "scan", "connection"],
        input=typed,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 1
    assert "✗ line 2: 'NOTAPART' is not a part number" in done.stderr
    assert "✓ ANT00003P1 → LNA00003P1" in done.stdout
    assert "1 connection(s) recorded, 2 refused" in done.stderr
    assert "ANT00001P1 → LNA00001P1" not in done.stdout


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
