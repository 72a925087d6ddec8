"""Chain lookups walk the indexes: exactly today's links, at a cost flat in the log's size.

Two kinds of check:

* *Same answer.* :class:`~casman.db.assembly.LinkReader` and everything built on it
  (``chain_through``, ``chains_through``, ``port_rows``, the chain index) must give exactly
  what folding the whole log gives (``active_links``: the newest event per pair by
  ``(scan_time, id)``, clashing pairs decided by which was seen first). Hypothesis draws
  logs with clashes, disconnects, equal times, NULL and BLOB values.
* *Same cost.* The same lookup on a log of 10 chains and of 2,000 chains runs the same
  number of SQL statements and the same number of SQLite virtual-machine instructions
  (counted with ``set_trace_callback`` and ``set_progress_handler``), so it reads the
  same rows: proportional to the chain's length, never to the size of the log.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casman.db.assembly import LinkReader, active_links
from casman.db.chains import (
    all_chains,
    chain_index,
    chain_through,
    chains_through,
    walk_links,
    walk_many,
)
from casman.db.connection import open_databases, write_transaction
from casman.db.lookups import antenna_report, board_report, port_rows
from casman.db.schema import ASSEMBLY_INDEXES, ASSEMBLY_TABLE
from casman.db.snap_boards import all_boards, load_boards
from casman.domain.parts import NUMBERED_TYPES, PartType
from casman.domain.snap import CHASSIS_RANGE, SLOT_LETTERS, SnapBoardId, parse_board
from casman.domain.timestamps import to_iso
from tests.conftest import SNAP_CSV

_INSERT = (
    "INSERT INTO asm.assembly (part_number, scan_time, connected_to, connection_status)"
    " VALUES (?, ?, ?, ?)"
)

# --- same answer --------------------------------------------------------------------------

ABSTRACT_PARTS = st.sampled_from(["A", "B", "C", "D", "E", None])
TIMES = st.sampled_from(["2025-01-01T00:00:01Z", "2025-01-01T00:00:02Z", None, b"\x01"])
STATUSES = st.sampled_from(["connected", "connected", "disconnected", "unknown"])
ABSTRACT_EVENTS = st.lists(st.tuples(ABSTRACT_PARTS, TIMES, ABSTRACT_PARTS, STATUSES), max_size=14)


def _memory_log(events: list[tuple[Any, ...]]) -> sqlite3.Connection:
    """A connection with casman's own ``asm.assembly`` table and indexes, holding events."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("ATTACH DATABASE ':memory:' AS asm")
    conn.execute(ASSEMBLY_TABLE.replace("CREATE TABLE assembly", "CREATE TABLE asm.assembly"))
    for ddl in ASSEMBLY_INDEXES:
        conn.execute(ddl.replace("IF NOT EXISTS ", "IF NOT EXISTS asm.", 1))
    conn.executemany(_INSERT, events)
    return conn


@settings(max_examples=400, deadline=None)
@given(ABSTRACT_EVENTS)
def test_indexed_links_are_the_whole_log_fold(events: list[tuple[Any, ...]]) -> None:
    """For every part, the reader's current link in and out is the fold's, clashes and all."""
    conn = _memory_log(events)
    try:
        links = active_links(conn)
        reader = LinkReader(conn)
        for part in ["A", "B", "C", "D", "E", None, "Z"]:
            assert reader.outgoing(part) == links.forward.get(part), part  # type: ignore[arg-type]
            assert reader.incoming(part) == links.backward.get(part), part  # type: ignore[arg-type]
    finally:
        conn.close()


REAL_PARTS = [
    "ANT00001P1",
    "ANT00002P1",
    "LNA00001P1",
    "LNA00002P1",
    "CXS00001P1",
    "CXL00001P1",
    "BAC00001P1",
    "BAC00002P2",
    "SNAP010105",
    "SNAP040111",
]
REAL_EVENTS = st.lists(
    st.tuples(
        st.sampled_from(REAL_PARTS),
        st.sampled_from(["2025-01-01T00:00:01Z", "2025-01-01T00:00:02Z"]),
        st.sampled_from(REAL_PARTS),
        st.sampled_from(["connected", "connected", "connected", "disconnected"]),
    ),
    max_size=16,
)


@pytest.fixture(scope="module")
def boards_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    conn = open_databases(tmp_path_factory.mktemp("equivalence") / "database")
    load_boards(conn, SNAP_CSV)
    yield conn
    conn.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(REAL_EVENTS)
def test_chain_lookups_are_the_whole_log_walk(
    boards_db: sqlite3.Connection, events: list[tuple[Any, ...]]
) -> None:
    """chain_through, chains_through, port_rows and the chain index agree with walking
    the links of the whole log, for every part (cycles and rule breaks included)."""
    conn = boards_db
    with write_transaction(conn):
        conn.execute("DELETE FROM asm.assembly")
        conn.executemany(_INSERT, events)
    links = active_links(conn)
    heads = sorted(source for source in links.forward if source not in links.backward)
    reference = [walk_links(links, head) for head in heads]
    assert [chain.parts for chain in all_chains(conn)] == reference
    index = chain_index(conn)
    chains = index.chains()
    assert [chain.parts for chain in chains] == reference and len(index) == len(reference)
    assert [chain.parts for chain in index.chains(1, 3)] == reference[1:3]
    assert index.complete == sum(1 for chain in chains if chain.complete)
    assert index.with_problems == sum(1 for chain in chains if chain.problems)
    assert index.reaching == {chain.parts[0] for chain in chains if chain.complete}
    for part in REAL_PARTS:
        assert chain_through(conn, part).parts == walk_links(links, part), part
        expected = [parts for parts in reference if part in parts]
        assert [chain.parts for chain in chains_through(conn, [part])] == expected, part
    assert walk_many(LinkReader(conn), REAL_PARTS) == {p: walk_links(links, p) for p in REAL_PARTS}
    boards = [parse_board("SNAP1A"), parse_board("SNAP4A")]
    via_index = port_rows(conn, boards, all_boards(conn), index.port_walks)
    assert port_rows(conn, boards, all_boards(conn)) == via_index
    feeders = {
        info["snap_port"]: info["connected_from"] for rows in via_index.values() for info, _ in rows
    }
    assert feeders["SNAP010105"] == links.backward.get("SNAP010105")
    assert feeders["SNAP040111"] == links.backward.get("SNAP040111")


# --- same cost ----------------------------------------------------------------------------

STAMP = "2025-01-01T00:00:00Z"


def _build(directory: Path, antennas: int) -> None:
    """``antennas`` × 2 full chains (the first 528 to SNAP ports), with a disconnect and
    reconnect of every LNA → COAXSHORT link: valid data, written straight into the log."""
    ports = [
        SnapBoardId(chassis, slot).port(number).part_number
        for chassis in CHASSIS_RANGE
        for slot in SLOT_LETTERS
        for number in range(12)
    ]
    parts: list[tuple[str, str, str | None]] = []
    events: list[tuple[str, str, str, str]] = []
    clock = datetime(2025, 1, 1, tzinfo=UTC)

    def stamp() -> str:
        nonlocal clock
        clock += timedelta(seconds=1)
        return to_iso(clock)

    chain_number = 0
    for serial in range(1, antennas + 1):
        for pol in ("P1", "P2"):
            names = [f"{kind.prefix}{serial:05d}{pol}" for kind in NUMBERED_TYPES]
            parts += [
                (name, kind.name, pol) for name, kind in zip(names, NUMBERED_TYPES, strict=True)
            ]
            if chain_number < len(ports):
                names.append(ports[chain_number])
                parts.append((ports[chain_number], PartType.SNAP.name, None))
            chain_number += 1
            for source, target in itertools.pairwise(names):
                events.append((source, stamp(), target, "connected"))
            for status in ("disconnected", "connected"):
                events.append((names[1], stamp(), names[2], status))
    conn = open_databases(directory)
    try:
        with write_transaction(conn):
            conn.executemany(
                "INSERT INTO parts (part_number, part_type, polarization, date_created,"
                " date_modified) VALUES (?, ?, ?, ?, ?)",
                [(name, kind, pol, STAMP, STAMP) for name, kind, pol in parts],
            )
            conn.executemany(_INSERT, events)
        load_boards(conn, SNAP_CSV)
        conn.execute("ANALYZE")
    finally:
        conn.close()


@dataclass
class Cost:
    statements: int
    instructions: int
    reads: int = 0  # the SELECTs among the statements


@contextmanager
def counting(conn: sqlite3.Connection) -> Iterator[Cost]:
    """Count the SQL statements run and the virtual-machine instructions they execute."""
    cost = Cost(0, 0)

    def statement(sql: str) -> None:
        cost.statements += 1
        cost.reads += sql.lstrip().upper().startswith("SELECT")

    def instruction() -> int:
        cost.instructions += 1
        return 0

    conn.set_trace_callback(statement)
    conn.set_progress_handler(instruction, 1)
    try:
        yield cost
    finally:
        conn.set_trace_callback(None)
        conn.set_progress_handler(None, 1)


@pytest.fixture(scope="module")
def small_and_large(tmp_path_factory: pytest.TempPathFactory) -> dict[str, sqlite3.Connection]:
    """The same first chains in a log of 12 and of 2,000 chains (about 160 times larger).

    Board SNAP1A is wired alike in both (its 12 ports take the first 12 chains)."""
    root = tmp_path_factory.mktemp("sizes")
    found = {}
    for name, antennas in (("small", 6), ("large", 1_000)):
        _build(root / name, antennas)
        found[name] = open_databases(root / name)
    return found


def _events(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM asm.assembly").fetchone()[0])


def cost_of(conn: sqlite3.Connection, lookup: Callable[[sqlite3.Connection], object]) -> Cost:
    lookup(conn)  # prepare the statements once (SQLite's statement cache), then count
    with counting(conn) as cost:
        lookup(conn)
    return cost


LOOKUPS: dict[str, Callable[[sqlite3.Connection], object]] = {
    "chain from its antenna": lambda conn: chain_through(conn, "ANT00002P1"),
    "chain from its middle": lambda conn: chain_through(conn, "CXL00002P1"),
    "chain from its SNAP port": lambda conn: chain_through(conn, "SNAP010103"),
    "antenna show": lambda conn: antenna_report(conn, "ANT00002"),
    "snap show": lambda conn: board_report(conn, parse_board("SNAP1A")),
    "chain search": lambda conn: chains_through(conn, ["LNA00003P1", "LNA00003P2"]),
}


@pytest.mark.parametrize("name", list(LOOKUPS))
def test_lookup_cost_does_not_grow_with_the_log(
    small_and_large: dict[str, sqlite3.Connection], name: str
) -> None:
    small = cost_of(small_and_large["small"], LOOKUPS[name])
    large = cost_of(small_and_large["large"], LOOKUPS[name])
    rows = _events(small_and_large["large"])
    assert rows > 100 * _events(small_and_large["small"])
    assert large.statements == small.statements
    # The same index probes in both; one that lands past an index's last entry takes one
    # instruction less, so the counts may differ by a handful. A scan would be 160× more.
    assert abs(large.instructions - small.instructions) <= 0.01 * small.instructions
    assert large.instructions < rows  # less work than looking at each event once


def test_a_chain_costs_two_indexed_reads_per_part(
    small_and_large: dict[str, sqlite3.Connection],
) -> None:
    """A six-part chain: each part's events out and in, plus the one board row."""
    conn = small_and_large["large"]
    chain = chain_through(conn, "ANT00002P1")
    assert len(chain.parts) == 6
    cost = cost_of(conn, lambda c: chain_through(c, "ANT00002P1"))
    assert cost.reads <= 2 * len(chain.parts) + 1
    assert cost.statements == cost.reads + 2  # and the BEGIN … COMMIT of one snapshot


def test_the_whole_array_views_read_each_event_once(
    small_and_large: dict[str, sqlite3.Connection],
) -> None:
    """The chain index is the one whole-log computation: a single scan of the log."""
    conn = small_and_large["large"]
    with counting(conn) as cost:
        chain_index(conn)
    assert cost.reads == 2  # the log and the boards (in one BEGIN … COMMIT)
