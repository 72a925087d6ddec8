"""Several sites, one truth, under faults: the randomized multi-site driver (issue 19).

Three sites share one ``local`` store and do random work through the same db functions the
CLI calls. Between steps the driver injects what real deployments meet: sites offline for a
while, a process killed before or after any request of a sync (publish or fetch), a lost
compare-and-swap race on the head, the store rolled back to an older copy, a segment
swapped for another under its valid key, the store's directory missing (a NAS not
mounted), checkpoint retention at any moment, and one site whose clock is five hours
behind. After healing (everyone online, the store back, two more rounds of sync) every run
must end with: every acknowledged change at every site, identical tables everywhere, every
removal standing or listed as a conflict, no conflict dropped while unresolved, no part
number issued twice.

The concurrent part runs real ``casman`` processes: racing syncs of several sites, two syncs
at one site at once, and ``kill -9`` in the middle of syncs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from casman.config import load_config
from casman.db import assembly, parts, positions
from casman.db import records as record_store
from casman.db.connection import open_databases
from casman.domain.connections import parse_part
from casman.domain.errors import DomainError
from casman.domain.grid import parse_grid_code
from casman.domain.parts import NumberBlock, PartType
from casman.storage.hookspecs import hookimpl
from casman.storage.plugins import get_plugin_manager
from casman.sync.checkpoint import take_checkpoint
from casman.sync.engine import converge
from casman.sync.errors import StoreMissingError, SyncError
from casman.sync.fold import fold
from casman.sync.session import open_session
from casman.sync.site.state import SiteState, store_location
from casman.sync.site.tables import folded_tables, live_tables
from tests.test_real_processes import _casman_exe

CHAIN = (PartType.ANTENNA, PartType.LNA, PartType.COAXSHORT)
GRID = [f"CN{row:03d}E{col:02d}" for row in (1, 2) for col in (0, 1, 2)]


class Killed(BaseException):
    """A process dying mid-request (kill -9): nothing after it runs."""


class KillAt:
    """A ``casman_storage_op`` wrapper that dies before or after the n-th request."""

    def __init__(self, n: int, after: bool) -> None:
        self.n, self.after, self.seen = n, after, 0

    @hookimpl(wrapper=True)
    def casman_storage_op(self, backend: Any, op: Any) -> Any:
        self.seen += 1
        if self.seen == self.n and not self.after:
            raise Killed(f"killed before {op.kind} {op.key}")
        result = yield
        if self.seen == self.n and self.after:
            raise Killed(f"killed after {op.kind} {op.key}")
        return result


class LoseRace:
    """Another site replaces the head just before this one's compare-and-swap."""

    done = False

    @hookimpl(wrapper=True)
    def casman_storage_op(self, backend: Any, op: Any) -> Any:
        if op.kind == "put" and op.key == "head.json" and not self.done:
            self.done = True
            try:
                body, _ = backend.impl.get("head.json")
                backend.impl.put(
                    "head.json",
                    body + b" ",
                    metadata={},
                    content_md5=_md5(body + b" "),
                )
            except Exception:  # no head yet: nothing to race against
                pass
        return (yield)


def _md5(body: bytes) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.md5(body).digest()).decode()


@contextmanager
def plugged(plugin: object) -> Iterator[None]:
    manager = get_plugin_manager()
    manager.register(plugin)
    try:
        yield
    finally:
        manager.unregister(plugin)


@dataclasses.dataclass
class SimSite:
    index: int
    directory: Path
    block: NumberBlock
    offline: bool = False
    skew: timedelta = timedelta(0)

    def conn(self) -> Any:
        return open_databases(self.directory)


class World:
    def __init__(self, root: Path, seed: int) -> None:
        self.rng = random.Random(seed)
        self.store = root / "store"
        self.sites = [
            SimSite(n, root / f"site{n}", NumberBlock(1 + n * 1000, 999 + n * 1000))
            for n in range(3)
        ]
        self.sites[2].skew = -timedelta(hours=5)  # a clock hours behind
        self.acknowledged: set[str] = set()
        self.removals: set[str] = set()
        self.conflicts_seen: dict[tuple[str, str], frozenset[str]] = {}
        self.store_copy: Path | None = None
        self.store_away = False
        base = load_config()
        self.config = dataclasses.replace(
            base, sync=dataclasses.replace(base.sync, enabled=True, backend="local")
        )

    # ------------------------------------------------------------------ work

    def _clock(self, site: SimSite) -> Any:
        real = datetime.now

        def skewed(tz: Any = UTC) -> datetime:
            return real(tz) + site.skew

        return skewed

    def work(self, site: SimSite) -> None:
        conn = site.conn()
        before = record_store.record_ids(conn)
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(record_store, "utc_now", lambda: datetime.now(UTC) + site.skew)
                self._one_change(conn, site)
        except DomainError:
            pass
        new = record_store.record_ids(conn) - before
        for record in record_store.all_records(conn):
            if record.id in new:
                self.acknowledged.add(record.id)
                if any(
                    op.action == "delete"
                    or (op.row is not None and op.row.get("connection_status") == "disconnected")
                    for op in record.ops
                ):
                    self.removals.add(record.id)
        conn.close()

    def _one_change(self, conn: Any, site: SimSite) -> None:
        rng = self.rng
        choice = rng.randrange(6)
        if choice == 0:
            parts.add_parts(conn, rng.choice(CHAIN), rng.randint(1, 2), "P1", site.block)
        elif choice in (1, 2):
            index = rng.randrange(len(CHAIN) - 1)
            sources = parts.list_parts(conn, CHAIN[index])
            targets = parts.list_parts(conn, CHAIN[index + 1])
            if sources and targets:
                assembly.connect(
                    conn,
                    parse_part(rng.choice(sources).part_number),
                    parse_part(rng.choice(targets).part_number),
                )
        elif choice == 3:
            links = sorted(assembly.active_links(conn).forward.items())
            if links:
                source, target = rng.choice(links)
                assembly.disconnect(conn, parse_part(source), parse_part(target))
        elif choice == 4:
            antennas = [p.part_number[:-2] for p in parts.list_parts(conn, PartType.ANTENNA)]
            if antennas:
                positions.assign(
                    conn,
                    rng.choice(antennas),
                    parse_grid_code(rng.choice(GRID)),
                    force=rng.random() < 0.5,
                )
        else:
            placed = positions.all_positions(conn)
            if placed:
                positions.remove(conn, rng.choice(placed).antenna_number)

    # ------------------------------------------------------------------ sync

    def session(self, site: SimSite) -> Any:
        os.environ["CASMAN_LOCAL_PATH"] = str(self.store)
        config = dataclasses.replace(self.config, database_dir=site.directory)
        return open_session(config, "local", "sync")

    def sync(self, site: SimSite, fault: object | None = None) -> None:
        if site.offline:
            return
        session = self.session(site)
        location = store_location(session.storage)
        knows_store = SiteState(site.directory).load(location).known
        if self.store_away and not knows_store:
            return  # a new site would found a store in the empty mount point; not modelled
        try:
            if fault is None:
                converge(session)
            else:
                with plugged(fault):
                    converge(session)
        except Killed:
            return
        except StoreMissingError:
            assert self.store_away, "a present store was called missing"
            return
        assert not self.store_away or not knows_store, "a missing store was written to"
        self.observe(site)

    def observe(self, site: SimSite) -> None:
        conn = site.conn()
        try:
            for conflict in fold(record_store.all_records(conn)).conflicts:
                if conflict.kind in ("concurrent", "skipped"):
                    self.conflicts_seen[(conflict.ref, conflict.kind)] = frozenset(conflict.records)
        finally:
            conn.close()

    # ------------------------------------------------------------------ faults

    def fault(self) -> None:
        rng = self.rng
        choice = rng.randrange(8)
        site = rng.choice(self.sites)
        if choice == 0:
            site.offline = not site.offline
        elif choice == 1:
            self.sync(site, KillAt(rng.randint(1, 6), after=rng.random() < 0.5))
        elif choice == 2:
            self.sync(site, LoseRace())
        elif choice == 3:
            self._rollback()
        elif choice == 4:
            self._swap_a_segment()
        elif choice == 5:
            self._toggle_store_away()
        elif choice == 6 and not self.store_away and (self.store / "head.json").exists():
            with contextlib.suppress(SyncError):
                take_checkpoint(self.session(site), keep=1)  # retention at any moment
        else:
            self.sync(site)

    def _rollback(self) -> None:
        if self.store_away or not self.store.exists():
            return
        if self.store_copy is None or self.rng.random() < 0.5:
            self.store_copy = self.store.with_name(f"store-copy-{self.rng.random()}")
            shutil.copytree(self.store, self.store_copy)
            return
        shutil.rmtree(self.store)
        shutil.copytree(self.store_copy, self.store)

    def _swap_a_segment(self) -> None:
        if self.store_away:
            return
        segments = sorted(p for p in self.store.glob("log/*/*") if "@" not in p.name)
        if len(segments) < 2:
            return
        victim, other = self.rng.sample(segments, 2)
        shutil.copy2(other, victim)
        meta_other = other.with_name(other.name + "@meta.json")
        if meta_other.exists():
            shutil.copy2(meta_other, victim.with_name(victim.name + "@meta.json"))

    def _toggle_store_away(self) -> None:
        away = self.store.with_name("store-unmounted")
        if self.store_away:
            away.rename(self.store)
            self.store_away = False
        elif self.store.exists():
            self.store.rename(away)
            self.store_away = True

    # ------------------------------------------------------------------ the end

    def heal(self) -> None:
        if self.store_away:
            self._toggle_store_away()
        for site in self.sites:
            site.offline = False
        for _ in range(3):
            for site in self.sites:
                self.sync(site)

    def check(self) -> None:
        sets, tables, conflicts = [], [], []
        for site in self.sites:
            conn = site.conn()
            try:
                records = record_store.all_records(conn)
                result = fold(records)
                assert folded_tables(result) == live_tables(conn), "tables not the fold"
                sets.append({r.id for r in records})
                tables.append(live_tables(conn))
                conflicts.append(result)
            finally:
                conn.close()
        missing = self.acknowledged - sets[0]
        assert not missing, f"{len(missing)} acknowledged change(s) lost"
        assert sets[0] == sets[1] == sets[2], "sites hold different records"
        assert tables[0] == tables[1] == tables[2], "sites' tables differ"
        result = conflicts[0]
        by_id_all = {r.id: r for r in result.records}
        listed = {(c.ref, c.kind) for c in result.conflicts}
        listed_refs = {c.ref for c in result.conflicts}
        # no conflict dropped while unresolved: gone only once a record settled it
        for (ref, kind), ids in self.conflicts_seen.items():
            if (ref, kind) in listed or ref in listed_refs:
                continue
            heads = result.heads.get(ref, set())
            effects = {_effect(by_id_all[h], ref) for h in heads}
            # gone is right once a record settled it, or when the rows agree again
            assert not (ids & heads) or len(effects) == 1, f"conflict on {ref} dropped"
        # every removal stands or is listed as a conflict
        by_id = {r.id: r for r in result.records}
        live = _live_pairs(result.tables.log)
        for record_id in self.removals:
            record = by_id[record_id]
            for op in record.ops:
                if record_id not in result.heads.get(op.ref, set()):
                    continue  # a later change that saw it replaced it
                if op.ref in listed_refs:
                    continue
                if op.action == "delete":
                    row = result.tables.rows[op.table].get(op.key)
                    last = [o for o in record.ops if o.ref == op.ref][-1]
                    assert row is None or last.action != "delete", f"removal of {op.ref} undone"
                elif op.table == "assembly" and op.row is not None:
                    pair = (op.row["part_number"], op.row["connected_to"])
                    parts_refs = {f"assembly:{pair[0]}", f"assembly:{pair[1]}"}
                    assert pair not in live or parts_refs & listed_refs, f"{pair} reconnected"
        # no part number issued twice
        created: dict[str, set[tuple[Any, ...]]] = {}
        for record in result.records:
            for op in record.ops:
                if op.table == "parts" and op.action == "insert" and op.row is not None:
                    created.setdefault(op.key, set()).add(
                        tuple(sorted((k, v) for k, v in op.row.items() if k != "id"))
                    )
        twice = [number for number, rows in created.items() if len(rows) > 1]
        assert not twice, f"part numbers issued twice: {twice}"


def _effect(record: Any, ref: str) -> object:
    """What ``record`` left of ``ref`` (its last operation on it, without the row id)."""
    last = [op for op in record.ops if op.ref == ref][-1]
    if last.row is None:
        return None
    if last.table == "assembly":
        return last.row.get("connection_status")
    return tuple(sorted((k, v) for k, v in last.row.items() if k != "id"))


def _live_pairs(log: list[dict[str, Any]]) -> set[tuple[Any, Any]]:
    newest: dict[tuple[Any, Any], Any] = {}
    for event in log:
        newest[(event["part_number"], event["connected_to"])] = event["connection_status"]
    return {pair for pair, status in newest.items() if status == "connected"}


@pytest.fixture
def world_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASMAN_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CASMAN_AUTO_BACKUP", "false")
    monkeypatch.setenv("CASMAN_SYNC_BACKEND", "local")
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "store"))
    return tmp_path


def _run_world(root: Path, seed: int, steps: int) -> World:
    world = World(root, seed)
    for site in world.sites:  # every site joins the array before it works
        world.sync(site)
    for _ in range(steps):
        if world.rng.random() < 0.55:
            world.work(world.rng.choice(world.sites))
        else:
            world.fault()
    world.heal()
    world.check()
    return world


@pytest.mark.parametrize("seed", range(8))
def test_randomized_sites_with_faults_converge_and_lose_nothing(world_env: Path, seed: int) -> None:
    world = _run_world(world_env / f"w{seed}", seed, steps=70)
    assert world.acknowledged  # the run did work


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 106))
def test_randomized_sites_with_faults_longer_runs(world_env: Path, seed: int) -> None:
    _run_world(world_env / f"w{seed}", seed, steps=250)


# ---------------------------------------------------------------------- real processes


def _env(tmp_path: Path, name: str) -> dict[str, str]:
    return {
        **os.environ,
        "CASMAN_DATABASE_DIR": str(tmp_path / name),
        "CASMAN_LOCAL_PATH": str(tmp_path / "store"),
        "CASMAN_SYNC_BACKEND": "local",
        "CASMAN_AUTO_BACKUP": "false",
        "HOME": str(tmp_path / "home"),
    }


def _casman(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_casman_exe(), *args], env=env, capture_output=True, text=True, timeout=120
    )


def _parts(env: dict[str, str]) -> set[str]:
    done = _casman(env, "parts", "list", "--json")
    assert done.returncode == 0, done.stderr
    return {p["part_number"] for p in json.loads(done.stdout)}


@pytest.mark.slow
def test_racing_killed_and_doubled_syncs_of_real_processes_lose_nothing(tmp_path: Path) -> None:
    envs = [_env(tmp_path, name) for name in ("a", "b", "c")]
    for env in envs:
        assert _casman(env, "sync", "sync").returncode == 0
    rng = random.Random(7)
    for round_number in range(4):
        for n, env in enumerate(envs):
            # each site its own block of numbers (config), as the docs advise
            config = Path(env["CASMAN_DATABASE_DIR"]) / "config.yaml"
            config.write_text(
                f"site:\n  part_number_start: {1 + n * 1000}\n  part_number_end: {999 + n * 1000}\n"
            )
            env["CASMAN_CONFIG"] = str(config)
            added = _casman(env, "parts", "add", "ANTENNA", "2", "1")
            assert added.returncode == 0, added.stderr
        racers = [
            subprocess.Popen(
                [*_casman_exe(), "sync", "sync"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for env in [*envs, envs[0]]  # site a twice at once
        ]
        victim = racers[rng.randrange(len(racers))] if round_number % 2 else None
        if victim is not None:
            time.sleep(rng.uniform(0.05, 0.4))
            victim.send_signal(signal.SIGKILL)
        for racer in racers:
            _, err = racer.communicate(timeout=120)
            if racer is victim:
                continue
            assert "Traceback" not in err, err
            assert racer.returncode == 0 or "another sync" in err, err
    for _ in range(2):
        for env in envs:
            done = _casman(env, "sync", "sync")
            assert done.returncode == 0, done.stderr
    listed = [_parts(env) for env in envs]
    assert listed[0] == listed[1] == listed[2]
    assert len(listed[0]) == 3 * 4 * 2  # every acknowledged part, none twice
    for env in envs:
        conn = open_databases(Path(env["CASMAN_DATABASE_DIR"]))
        try:
            assert folded_tables(fold(record_store.all_records(conn))) == live_tables(conn)
        finally:
            conn.close()


def test_a_site_that_never_synced_is_refused_then_joins_without_loss(tmp_path: Path) -> None:
    a, b = _env(tmp_path, "a"), _env(tmp_path, "b")
    assert _casman(a, "parts", "add", "ANTENNA", "1", "1").returncode == 0
    assert _casman(a, "sync", "sync").returncode == 0
    assert _casman(b, "parts", "add", "LNA", "1", "1").returncode == 0
    refused = _casman(b, "sync", "sync")
    assert refused.returncode == 1
    assert "unrelated histories" in refused.stderr and "casman sync join" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    joined = _casman(b, "sync", "join")
    assert joined.returncode == 0, joined.stderr
    assert _casman(a, "sync", "sync").returncode == 0
    assert _parts(a) == _parts(b) == {"ANT00001P1", "LNA00001P1"}


def test_a_no_op_sync_is_one_get(tmp_path: Path) -> None:
    a = _env(tmp_path, "a")
    assert _casman(a, "parts", "add", "ANTENNA", "1", "1").returncode == 0
    assert _casman(a, "sync", "sync").returncode == 0
    done = _casman({**a, "CASMAN_TRACE_PLUGINS": "1"}, "sync", "sync")
    assert done.returncode == 0, done.stderr
    ops = [line for line in done.stderr.splitlines() if line.startswith("casman trace:")]
    assert len(ops) == 1 and "op=get" in ops[0] and "head.json" in ops[0], ops


def test_the_two_site_scenario_ends_identical_with_the_clash_listed(tmp_path: Path) -> None:
    """Round 2's E-sites scenario on the record engine."""
    a, b = _env(tmp_path, "a"), _env(tmp_path, "b")
    for part_type in ("ANTENNA", "LNA", "COAXSHORT"):
        assert _casman(a, "parts", "add", part_type, "2", "1").returncode == 0
    assert _casman(a, "sync", "sync").returncode == 0
    assert _casman(b, "sync", "sync").returncode == 0
    for args in (
        ("assembly", "connect", "ANT00001P1", "LNA00001P1"),
        ("assembly", "connect", "LNA00001P1", "CXS00001P1"),
        ("antenna", "assign", "ANT00001", "CN001E01"),
    ):
        assert _casman(a, *args).returncode == 0
    for args in (
        ("assembly", "connect", "ANT00002P1", "LNA00002P1"),
        ("assembly", "connect", "LNA00001P1", "CXS00002P1"),  # the same LNA, another coax
        ("antenna", "assign", "ANT00002", "CN001E02"),
    ):
        assert _casman(b, *args).returncode == 0
    assert _casman(a, "sync", "sync").returncode == 0
    merged = json.loads(_casman(b, "sync", "sync", "--json").stdout)
    assert _casman(a, "sync", "sync").returncode == 0
    assert [c["kind"] for c in merged["conflicts"]] == ["link"]
    assert "LNA00001P1" in merged["conflicts"][0]["message"]
    for env in (a, b):
        listed = _casman(env, "sync", "conflicts")
        assert "LNA00001P1 is connected to both CXS00001P1 and CXS00002P1" in listed.stdout
        assert "casman assembly disconnect" in listed.stdout
        positions_out = json.loads(_casman(env, "antenna", "list", "--json").stdout)
        assert {p["grid_code"] for p in positions_out} == {"CN001E01", "CN001E02"}
    from casman.web.app import create_app

    client = create_app(Path(a["CASMAN_DATABASE_DIR"])).test_client()
    assert b"conflict-banner" in client.get("/", headers={"Host": "localhost"}).data
    assert _casman(a, "assembly", "disconnect", "LNA00001P1", "CXS00002P1").returncode == 0
    assert "no conflicts" in _casman(a, "sync", "conflicts").stdout
    assert _casman(a, "sync", "sync").returncode == 0
    assert _casman(b, "sync", "sync").returncode == 0
    assert "no conflicts" in _casman(b, "sync", "conflicts").stdout
    assert b"conflict-banner" not in client.get("/", headers={"Host": "localhost"}).data


def test_a_store_once_used_and_now_missing_is_not_mounted_not_empty(tmp_path: Path) -> None:
    a = _env(tmp_path, "a")
    assert _casman(a, "parts", "add", "ANTENNA", "1", "1").returncode == 0
    assert _casman(a, "sync", "sync").returncode == 0
    (tmp_path / "store").rename(tmp_path / "unmounted")
    (tmp_path / "store").mkdir()  # the empty mount point
    assert _casman(a, "parts", "add", "LNA", "1", "1").returncode == 0
    refused = _casman(a, "sync", "sync")
    assert refused.returncode == 1 and "is it mounted?" in refused.stderr
    assert list((tmp_path / "store").iterdir()) == []  # nothing was pushed
    (tmp_path / "store").rmdir()
    (tmp_path / "unmounted").rename(tmp_path / "store")
    assert _casman(a, "sync", "sync").returncode == 0


def test_sync_state_is_per_store_location_not_per_backend_name(tmp_path: Path) -> None:
    a = _env(tmp_path, "a")
    assert _casman(a, "parts", "add", "ANTENNA", "1", "1").returncode == 0
    assert _casman(a, "sync", "sync").returncode == 0
    other = {**a, "CASMAN_LOCAL_PATH": str(tmp_path / "other-store")}
    done = json.loads(_casman(other, "sync", "sync", "--json").stdout)
    assert done["published"] >= 1  # the second directory gets everything, not "in sync"
    b = {**_env(tmp_path, "b"), "CASMAN_LOCAL_PATH": str(tmp_path / "other-store")}
    assert _casman(b, "sync", "sync").returncode == 0
    assert _parts(b) == {"ANT00001P1"}
