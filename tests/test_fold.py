"""The state is a fold of the records: every write leaves tables the fold reproduces, and
sites that exchange records end with identical tables and the same conflicts."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casman.db import assembly, parts, positions
from casman.db import records as record_store
from casman.db.connection import open_databases
from casman.domain.connections import parse_part
from casman.domain.errors import DomainError
from casman.domain.grid import parse_grid_code
from casman.domain.parts import PartType
from casman.sync.fold import fold
from casman.sync.site.receive import receive
from casman.sync.site.tables import folded_tables, live_tables

CHAIN = (PartType.ANTENNA, PartType.LNA, PartType.COAXSHORT)
GRID = [f"CN{row:03d}E{col:02d}" for row in (1, 2) for col in (0, 1, 2)]


class Site:
    """One site's database, driven through the same db functions the CLI calls."""

    def __init__(self, directory: Path) -> None:
        self.conn = open_databases(directory)

    def live_links(self) -> list[tuple[str, str]]:
        return sorted(assembly.active_links(self.conn).forward.items())

    def step(self, rng: random.Random) -> None:
        choice = rng.randrange(6)
        try:
            if choice == 0:
                parts.add_parts(self.conn, rng.choice(CHAIN), rng.randint(1, 2), "P1")
            elif choice in (1, 2):
                self._connect(rng)
            elif choice == 3:
                links = self.live_links()
                if links:
                    source, target = rng.choice(links)
                    assembly.disconnect(self.conn, parse_part(source), parse_part(target))
            elif choice == 4:
                antennas = [
                    p.part_number[:-2] for p in parts.list_parts(self.conn, PartType.ANTENNA)
                ]
                if antennas:
                    positions.assign(
                        self.conn,
                        rng.choice(antennas),
                        parse_grid_code(rng.choice(GRID)),
                        force=rng.random() < 0.5,
                    )
            else:
                placed = positions.all_positions(self.conn)
                if placed:
                    positions.remove(self.conn, rng.choice(placed).antenna_number)
        except DomainError:
            pass  # a refused command writes nothing, like at the terminal

    def _connect(self, rng: random.Random) -> None:
        index = rng.randrange(len(CHAIN) - 1)
        sources = parts.list_parts(self.conn, CHAIN[index])
        targets = parts.list_parts(self.conn, CHAIN[index + 1])
        if sources and targets:
            assembly.connect(
                self.conn,
                parse_part(rng.choice(sources).part_number),
                parse_part(rng.choice(targets).part_number),
            )


def _folds_to_live(conn: sqlite3.Connection) -> None:
    result = fold(record_store.all_records(conn))
    assert folded_tables(result) == live_tables(conn)
    stored: dict[str, set[str]] = {}
    if not record_store.has_record_tables(conn):
        assert not result.records
        return
    for ref, record in conn.execute("SELECT ref, record FROM casman_heads"):
        stored.setdefault(ref, set()).add(record)
    assert stored == {ref: ids for ref, ids in result.heads.items() if ids}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32), steps=st.integers(1, 40))
def test_every_write_is_explained_by_its_records(tmp_path: Path, seed: int, steps: int) -> None:
    site = Site(tmp_path / f"s{seed}-{steps}")
    rng = random.Random(seed)
    for _ in range(steps):
        site.step(rng)
        _folds_to_live(site.conn)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32))
def test_sites_that_exchange_records_hold_identical_tables(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    sites = [Site(tmp_path / f"{seed}-{n}") for n in range(3)]
    for _ in range(4):
        for site in sites:
            for _ in range(rng.randint(0, 6)):
                site.step(rng)
        # a random pair exchanges everything it has, in a random direction first
        a, b = rng.sample(sites, 2)
        receive(b.conn, record_store.all_records(a.conn))
        receive(a.conn, record_store.all_records(b.conn))
        _folds_to_live(a.conn)
        _folds_to_live(b.conn)
    everything = [r for site in sites for r in record_store.all_records(site.conn)]
    for site in sites:
        receive(site.conn, everything)
    tables = [live_tables(site.conn) for site in sites]
    assert tables[0] == tables[1] == tables[2]
    conflicts = [fold(record_store.all_records(s.conn)).conflicts for s in sites]
    assert conflicts[0] == conflicts[1] == conflicts[2]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32))
def test_the_fold_does_not_depend_on_arrival_order(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    sites = [Site(tmp_path / f"o{seed}-{n}") for n in range(2)]
    for site in sites:
        for _ in range(rng.randint(1, 15)):
            site.step(rng)
    everything = [r for site in sites for r in record_store.all_records(site.conn)]
    shuffled = list(everything)
    rng.shuffle(shuffled)
    first, second = fold(everything), fold(shuffled + everything[:3])
    assert folded_tables(first) == folded_tables(second)
    assert first.conflicts == second.conflicts


def test_a_disconnect_ends_its_connect_whatever_the_clocks_said(tmp_path: Path) -> None:
    """Site B's clock is hours behind: its disconnect still follows the connect it saw."""
    from datetime import UTC, datetime, timedelta

    a, b = Site(tmp_path / "a"), Site(tmp_path / "b")
    parts.add_parts(a.conn, PartType.ANTENNA, 1, "P1")
    parts.add_parts(a.conn, PartType.LNA, 1, "P1")
    assembly.connect(a.conn, parse_part("ANT00001P1"), parse_part("LNA00001P1"))
    receive(b.conn, record_store.all_records(a.conn))
    behind = datetime.now(UTC) - timedelta(hours=5)
    b.conn.execute("BEGIN IMMEDIATE")
    record_store.begin(b.conn)
    b.conn.execute(
        "INSERT INTO asm.assembly (part_number, part_type, polarization, scan_time,"
        " connected_to, connected_to_type, connected_polarization, connected_scan_time,"
        " connection_status) VALUES ('ANT00001P1', 'ANTENNA', 'P1', ?, 'LNA00001P1', 'LNA',"
        " 'P1', ?, 'disconnected')",
        (behind.strftime("%Y-%m-%dT%H:%M:%SZ"),) * 2,
    )
    record = record_store.seal(b.conn, "disconnect", now=behind)
    b.conn.execute("COMMIT")
    assert record is not None and len(record.supersedes) == 1
    receive(a.conn, record_store.all_records(b.conn))
    assert a.live_links() == [] and b.live_links() == []
    assert live_tables(a.conn) == live_tables(b.conn)


def test_a_removal_at_one_site_and_a_move_at_another_is_a_conflict(tmp_path: Path) -> None:
    a, b = Site(tmp_path / "a"), Site(tmp_path / "b")
    parts.add_parts(a.conn, PartType.ANTENNA, 1, "P1")
    positions.assign(a.conn, "ANT00001", parse_grid_code("CN001E01"))
    receive(b.conn, record_store.all_records(a.conn))
    positions.remove(a.conn, "ANT00001")
    positions.assign(b.conn, "ANT00001", parse_grid_code("CN002E02"), force=True)
    receive(a.conn, record_store.all_records(b.conn))
    receive(b.conn, record_store.all_records(a.conn))
    for site in (a, b):
        conflicts = fold(record_store.all_records(site.conn)).conflicts
        assert [(c.kind, c.ref) for c in conflicts] == [
            ("concurrent", "antenna_positions:ANT00001")
        ]
    # settling it: any later change of that antenna at either site
    positions.assign(a.conn, "ANT00001", parse_grid_code("CN001E02"), force=True)
    receive(b.conn, record_store.all_records(a.conn))
    assert fold(record_store.all_records(b.conn)).conflicts == []


def test_two_sites_connecting_one_part_is_a_link_conflict_until_disconnected(
    tmp_path: Path,
) -> None:
    a, b = Site(tmp_path / "a"), Site(tmp_path / "b")
    parts.add_parts(a.conn, PartType.ANTENNA, 1, "P1")
    parts.add_parts(a.conn, PartType.LNA, 2, "P1")
    receive(b.conn, record_store.all_records(a.conn))
    assembly.connect(a.conn, parse_part("ANT00001P1"), parse_part("LNA00001P1"))
    assembly.connect(b.conn, parse_part("ANT00001P1"), parse_part("LNA00002P1"))
    receive(a.conn, record_store.all_records(b.conn))
    [conflict] = fold(record_store.all_records(a.conn)).conflicts
    assert conflict.kind == "link" and "LNA00001P1 and LNA00002P1" in conflict.message
    assembly.disconnect(a.conn, parse_part("ANT00001P1"), parse_part("LNA00002P1"))
    assert fold(record_store.all_records(a.conn)).conflicts == []
    assert a.live_links() == [("ANT00001P1", "LNA00001P1")]


@pytest.mark.parametrize("copies", [2])
def test_two_sites_adopting_copies_of_one_old_database_agree(tmp_path: Path, copies: int) -> None:
    """Genesis records come from the rows alone: same rows, same ids, same array."""
    origin = tmp_path / "origin"
    conn = open_databases(origin)
    conn.execute(
        "INSERT INTO parts (part_number, part_type, polarization, date_created, date_modified)"
        " VALUES ('ANT00001P1', 'ANTENNA', 'P1', '2025-01-01T00:00:00Z', NULL)"
    )
    conn.close()
    import shutil

    arrays, ids = set(), []
    for n in range(copies):
        shutil.copytree(origin, tmp_path / f"copy{n}")
        site = Site(tmp_path / f"copy{n}")
        parts.add_parts(site.conn, PartType.LNA, 1, "P1")  # the first write adopts
        genesis = [r for r in record_store.all_records(site.conn) if r.site == "genesis"]
        ids.append([r.id for r in genesis])
        arrays.add(record_store.get_meta(site.conn, record_store.META_ARRAY))
        _folds_to_live(site.conn)
    assert len(ids[0]) == 1 and ids[0] == ids[1]
    assert len(arrays) == 1
