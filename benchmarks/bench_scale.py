"""Issue #12 «Fast at 100× build-out»: chain lookups, the CLI, the web views, ``database print``.

Every figure is a ratio against a floor or a baseline measured in the same process,
interleaved run by run (see common.py):

- chain lookups on the 100× database against the bare indexed reads the walk needs (the
  floor), against the same lookup on the quick start's demo database, and the whole-log
  walk they replace against them;
- ``casman assembly chain`` / ``antenna show`` / ``snap show`` as real processes, 100×
  against the demo database (the issue's acceptance: within 1.3×);
- web server time (Flask's test client, in this process) per page and API on the 100×
  database against the same URL on the demo database, with the chain index warm (the
  database unchanged since the last request) and cold (a scan just committed);
- ``casman database print`` against the ``sqlite3`` shell printing the same table.

    .venv/bin/python benchmarks/bench_scale.py            # full; rewrites its README block
    .venv/bin/python benchmarks/bench_scale.py --quick    # smoke run, prints only
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from builders import (
    ANTENNAS_100X,
    CHURNED_100X,
    ArrayInfo,
    build_demo,
    build_full_array,
    place_antennas,
)
from common import TABLE_HEADER, Pair, environment, fmt_seconds, machine_lines, paired, timed

from casman.db.assembly import LinkReader, active_links, connect, disconnect
from casman.db.chains import build_chain, chain_index, chain_through, walk_links
from casman.db.connection import open_databases
from casman.db.lookups import antenna_report, board_report
from casman.db.snap_boards import all_boards
from casman.domain.connections import parse_part
from casman.domain.snap import parse_board
from casman.web.app import create_app

CASMAN = Path(sys.executable).parent / "casman"
SQLITE3 = shutil.which("sqlite3")
TARGET_CLI = 1.3
TARGET_WEB = 0.100
TOGGLE_100X = ("ANT04999P1", "LNA04999P1")  # linked: the first scan disconnects it
TOGGLE_DEMO = ("ANT00002P1", "LNA00002P1")  # free: the first scan connects it


@dataclass
class Sizes:
    lookup_runs: int
    cli_runs: int
    web_runs: int
    cold_runs: int
    print_runs: int


FULL = Sizes(lookup_runs=101, cli_runs=11, web_runs=21, cold_runs=7, print_runs=5)
QUICK = Sizes(lookup_runs=11, cli_runs=3, web_runs=3, cold_runs=3, print_runs=3)


# --- chain lookups, in process ---------------------------------------------------------------


def _floor_reads(parts: tuple[str, ...]) -> Callable[[object], None]:
    """The reads an indexed walk of ``parts`` cannot avoid: each part's events from it and
    to it (two index ranges) and its SNAP board's row, as bare SQL."""

    def reads(conn: object) -> None:
        assert hasattr(conn, "execute")
        for part in parts:
            conn.execute(
                "SELECT part_number, connected_to, connection_status, scan_time, id"
                " FROM asm.assembly WHERE part_number = ? ORDER BY scan_time, id",
                (part,),
            ).fetchall()
            conn.execute(
                "SELECT part_number, connected_to, connection_status, scan_time, id"
                " FROM asm.assembly WHERE connected_to = ? ORDER BY scan_time, id",
                (part,),
            ).fetchall()
        conn.execute("SELECT * FROM snap_boards WHERE chassis = 1 AND slot = 'A'").fetchall()

    return reads


def lookup_figures(big: Path, demo: Path, sizes: Sizes) -> list[Pair]:
    large, small = open_databases(big), open_databases(demo)
    try:
        part = "ANT00001P1"
        parts = chain_through(large, part).parts
        assert len(parts) == 6 and chain_through(small, part).complete  # same shape in both
        floor = _floor_reads(parts)
        n = sizes.lookup_runs
        found = [
            paired(
                Pair("`chain_through` (6-part chain), 100×", "bare indexed reads it needs, 100×"),
                lambda: timed(lambda: chain_through(large, part)),
                lambda: timed(lambda: floor(large)),
                n,
            ),
            paired(
                Pair("`chain_through` (6-part chain), 100×", "the same on the demo database"),
                lambda: timed(lambda: chain_through(large, part)),
                lambda: timed(lambda: chain_through(small, part)),
                n,
            ),
            paired(
                Pair("`antenna_report` (`antenna show`), 100×", "the same on the demo database"),
                lambda: timed(lambda: antenna_report(large, "ANT00001")),
                lambda: timed(lambda: antenna_report(small, "ANT00001")),
                n,
            ),
            paired(
                Pair("`board_report` (`snap show`), 100×", "the same on the demo database"),
                lambda: timed(lambda: board_report(large, parse_board("SNAP1A"))),
                lambda: timed(lambda: board_report(small, parse_board("SNAP1A"))),
                n,
            ),
        ]

        def whole_log() -> None:
            build_chain(walk_links(active_links(large), part), all_boards(large))

        found.append(
            paired(
                Pair(
                    "the whole-log walk `chain_through` did before, 100×",
                    "`chain_through` now, 100×",
                ),
                lambda: timed(whole_log),
                lambda: timed(lambda: chain_through(large, part)),
                max(3, n // 10),
            )
        )

        def scan() -> None:
            large.execute(
                "SELECT part_number, connected_to, connection_status FROM asm.assembly"
                " ORDER BY scan_time, id"
            ).fetchall()

        found.append(
            paired(
                Pair(
                    "`chain_index` (every chain, the web's cold path), 100×",
                    "the one ordered scan of the log it needs",
                ),
                lambda: timed(lambda: chain_index(large)),
                lambda: timed(scan),
                max(3, n // 10),
            )
        )
    finally:
        large.close()
        small.close()
    return found


# --- the CLI, as real processes -----------------------------------------------------------------


def _run(command: list[str]) -> float:
    return timed(lambda: subprocess.run(command, check=True, capture_output=True))


CLI_COMMANDS = (
    ("`casman assembly chain ANT00001P1`", ["assembly", "chain", "ANT00001P1"]),
    ("`casman antenna show ANT00001`", ["antenna", "show", "ANT00001"]),
    ("`casman snap show SNAP1A`", ["snap", "show", "SNAP1A"]),
)


def cli_figures(big: Path, demo: Path, work: Path, sizes: Sizes) -> list[Pair]:
    home = work / "home"
    home.mkdir(exist_ok=True)
    found = []
    settings = {"HOME": str(home), "CASMAN_CONFIG": None, "CASMAN_SYNC_ENABLED": "false"}
    for label, args in CLI_COMMANDS:

        def on(directory: Path, args: list[str] = args) -> float:
            with environment({**settings, "CASMAN_DATABASE_DIR": str(directory)}):
                return _run([str(CASMAN), *args])

        on(big), on(demo)  # warm the page cache, untimed
        found.append(
            paired(
                Pair(f"{label}, 100× (process)", "the same command on the demo database"),
                lambda on=on: on(big),  # type: ignore[misc]
                lambda on=on: on(demo),  # type: ignore[misc]
                sizes.cli_runs,
            )
        )
    return found


# --- the web views: server time -----------------------------------------------------------------

WEB_URLS = (
    # (URL on the 100× database, the same question on the demo database)
    ("/", "/"),
    ("/chains", "/chains"),
    ("/chains?page=100", "/chains?page=1"),  # the demo has one page
    ("/api/chains?page=100", "/api/chains?page=1"),
    ("/api/chains?q=LNA00010", "/api/chains?q=LNA00001"),
    ("/api/chains?q=SNAP2B", "/api/chains?q=SNAP2B"),
    ("/snap", "/snap"),
    ("/api/snap", "/api/snap"),
    ("/api/antenna/ANT00001", "/api/antenna/ANT00001"),
    ("/api/board/SNAP1A", "/api/board/SNAP1A"),
    ("/grid", "/grid"),
)
COLD_URLS = (
    ("/", "/"),
    ("/chains", "/chains"),
    ("/api/chains?page=2", "/api/chains?page=1"),
    ("/api/snap", "/api/snap"),
)


class _Scanner:
    """Commits one scan to a database (it disconnects or reconnects one pair), as a
    technician does between two page loads: the web view's chain index is then cold."""

    def __init__(self, directory: Path, source: str, target: str) -> None:
        self.conn = open_databases(directory)
        self.source, self.target = parse_part(source), parse_part(target)
        self.was_linked = LinkReader(self.conn).outgoing(source) == target
        self.linked = self.was_linked

    def scan(self) -> None:
        if self.linked:
            disconnect(self.conn, self.source, self.target)
        else:
            connect(self.conn, self.source, self.target)
        self.linked = not self.linked

    def close(self) -> None:
        if self.linked != self.was_linked:
            self.scan()
        self.conn.close()


def web_figures(big: Path, demo: Path, sizes: Sizes) -> tuple[list[Pair], list[Pair]]:
    large, small = create_app(big).test_client(), create_app(demo).test_client()

    def get(client: object, url: str) -> float:
        assert hasattr(client, "get")

        def call() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return timed(call)

    warm = []
    for url, demo_url in WEB_URLS:
        get(large, url), get(small, demo_url)  # build the index, fill caches: untimed
        same = "the same URL" if url == demo_url else f"`{demo_url}`"
        warm.append(
            paired(
                Pair(f"`GET {url}`, 100×", f"{same} on the demo database"),
                lambda url=url: get(large, url),  # type: ignore[misc]
                lambda url=demo_url: get(small, url),  # type: ignore[misc]
                sizes.web_runs,
            )
        )
    cold = []
    scanners = _Scanner(big, *TOGGLE_100X), _Scanner(demo, *TOGGLE_DEMO)
    try:
        for url, demo_url in COLD_URLS:

            def after_scan(client: object, scanner: _Scanner, url: str) -> float:
                scanner.scan()
                return get(client, url)

            same = "the same" if url == demo_url else f"`{demo_url}`"
            cold.append(
                paired(
                    Pair(f"`GET {url}` just after a scan, 100×", f"{same} on the demo database"),
                    lambda url=url: after_scan(large, scanners[0], url),  # type: ignore[misc]
                    lambda url=demo_url: after_scan(small, scanners[1], url),  # type: ignore[misc]
                    sizes.cold_runs,
                )
            )
    finally:
        for scanner in scanners:
            scanner.close()
    return warm, cold


# --- database print -----------------------------------------------------------------------------


def print_figures(big: Path, work: Path, sizes: Sizes) -> list[Pair]:
    if SQLITE3 is None:
        return []
    home = work / "home"
    home.mkdir(exist_ok=True)
    settings = {
        "HOME": str(home),
        "CASMAN_CONFIG": None,
        "CASMAN_SYNC_ENABLED": "false",
        "CASMAN_DATABASE_DIR": str(big),
    }
    found = []
    for table, db_file in (("parts", "parts.db"), ("assembly", "assembled_casm.db")):
        casman = [str(CASMAN), "database", "print", "--table", table]
        shell = [SQLITE3, "-readonly", "-header", "-column", str(big / db_file)]
        shell.append(f"SELECT * FROM {table}")
        with environment(settings):
            _run(casman), _run(shell)
            found.append(
                paired(
                    Pair(
                        f"`casman database print --table {table}`, 100× (process)",
                        f"`sqlite3 -header -column` of `{table}`",
                    ),
                    lambda casman=casman: _run(casman),  # type: ignore[misc]
                    lambda shell=shell: _run(shell),  # type: ignore[misc]
                    sizes.print_runs,
                )
            )
    return found


# --- the section ---------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "✓" if ok else "**✗**"


def run(sizes: Sizes) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="casman-bench-scale-") as name:
        work = Path(name)
        began = time.perf_counter()
        big, demo = work / "array100", work / "demo"
        info: ArrayInfo = build_full_array(big, antennas=ANTENNAS_100X, churned=CHURNED_100X)
        placed = place_antennas(big, 258)
        built = time.perf_counter() - began
        build_demo(demo)
        lookups = lookup_figures(big, demo, sizes)
        cli = cli_figures(big, demo, work, sizes)
        warm, cold = web_figures(big, demo, sizes)
        prints = print_figures(big, work, sizes)
    cli_ok = all(pair.ratio <= TARGET_CLI for pair in cli)
    slow = [pair.label for pair in warm if pair.median >= TARGET_WEB]
    cold_slow = [pair.label for pair in cold if pair.median >= TARGET_WEB]
    lines = [
        "### 4. At 100× the build-out (issue #12)",
        "",
        f"100× database: {info.parts:,} parts, {info.events:,} assembly events, "
        f"{info.chains:,} chains ({info.snap_chains} to a SNAP port), {info.boards} SNAP "
        f"boards, 258 grid positions with {placed} antennas placed; built in {built:.1f} s "
        "(direct `executemany` through casman's db layer, positions with `assign`). Demo "
        "database: the quick start's (one chain ANT00001P1 → SNAP1A05, the same boards and "
        "positions).",
        "",
        "Chain lookups (in process):",
        "",
        TABLE_HEADER,
        *(pair.row() for pair in lookups),
        "",
        "Commands (real processes; each includes Python's start-up):",
        "",
        TABLE_HEADER,
        *(pair.row() for pair in cli),
        "",
        f"- Acceptance: each command on the 100× database within {TARGET_CLI}× of the demo "
        f"database: {_verdict(cli_ok)}",
        "",
        "Web server time (Flask test client, in process), chain index warm:",
        "",
        TABLE_HEADER,
        *(pair.row() for pair in warm),
        "",
        "The first request after a scan (the chain index is rebuilt from the log):",
        "",
        TABLE_HEADER,
        *(pair.row() for pair in cold),
        "",
        f"- Target: every page and API under {fmt_seconds(TARGET_WEB)} at 100×, index warm: "
        + (_verdict(True) if not slow else f"{_verdict(False)} over it: {', '.join(slow)}"),
        "- Just after a scan: "
        + (
            _verdict(True)
            if not cold_slow
            else f"{_verdict(False)} over {fmt_seconds(TARGET_WEB)}: {', '.join(cold_slow)}"
        ),
        "- The whole-array views (home counts, the chain listing, the SNAP page) share one "
        "chain index per database state, keyed by `PRAGMA data_version` "
        "(`casman/web/chain_cache.py`): only the first request after each change pays for "
        "rebuilding it (the `chain_index` row above); searches and single lookups never use it.",
        "- `/grid` is the grid view's own code: it still lists every chain (`all_chains`) on "
        "each request to find the antennas whose chain is complete; `ChainIndex.reaching` "
        "holds exactly that set.",
        "",
    ]
    if prints:
        lines += [
            "`database print` (real processes):",
            "",
            TABLE_HEADER,
            *(pair.row() for pair in prints),
        ]
    else:
        lines.append("`database print`: no `sqlite3` shell on this machine; not measured.")
    return lines


def section(quick: bool) -> list[str]:
    """The section with the machine it ran on (it has its own block in README.md)."""
    began = time.perf_counter()
    body = run(QUICK if quick else FULL)
    return [
        *body,
        "",
        "Produced by `.venv/bin/python benchmarks/bench_scale.py` (`run.py` runs it too).",
        *machine_lines(),
        f"- This section's run: {time.perf_counter() - began:.0f} s"
        + (" (--quick: too few runs to quote)" if quick else ""),
    ]


START = "<!-- scale:start -->"
END = "<!-- scale:end -->"


def main(argv: list[str] | None = None) -> int:
    from run import README, rewrite

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few runs; print, don't write")
    parser.add_argument("--no-write", action="store_true", help="print only; leave README")
    args = parser.parse_args(argv)
    body = section(args.quick)
    print("\n".join(body))
    if not (args.quick or args.no_write):
        if rewrite(README, body, START, END):
            print(f"\nrewrote the 100× section of {README}", file=sys.stderr)
        else:
            print(f"\n{README} has no {START} … {END} markers; paste the above", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
