"""Issue «Foundation»: CLI start-up, recording one connection, computing every chain."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from builders import ArrayInfo, build_full_array, build_small, part_number
from common import TABLE_HEADER, Pair, environment, paired, timed

from casman.db.assembly import connect
from casman.db.chains import all_chains
from casman.db.connection import open_databases, write_transaction
from casman.domain.connections import parse_part
from casman.domain.parts import PartType

HEAVY_MODULES = ("boto3", "botocore", "s3fs", "fsspec", "flask", "matplotlib")
VENV_BIN = Path(sys.executable).parent
CASMAN = VENV_BIN / "casman"
BARE_LABEL = '`python -c "import click, sqlite3"` (subprocess)'

# Runs `casman parts list` in-process, then reports which heavy packages were imported.
_IMPORT_PROBE = """
import json, sys
from casman.cli import main
try:
    main(["parts", "list"])
except SystemExit:
    pass
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1].split(",")))
sys.stderr.write("PROBE " + json.dumps({"heavy": heavy, "modules": len(sys.modules)}) + "\\n")
"""
_BASELINE_PROBE = """
import json, sys
import click, sqlite3
sys.stderr.write("PROBE " + json.dumps({"modules": len(sys.modules)}) + "\\n")
"""


@dataclass
class Sizes:
    startup_runs: int
    connect_runs: int
    chains_runs: int


FULL = Sizes(startup_runs=15, connect_runs=201, chains_runs=11)
QUICK = Sizes(startup_runs=7, connect_runs=41, chains_runs=5)


def _run(command: list[str], cwd: Path) -> float:
    def call() -> None:
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)

    return timed(call)


def _probe(code: str, cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code, ",".join(HEAVY_MODULES)],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("PROBE "))
    result: dict[str, object] = json.loads(line.removeprefix("PROBE "))
    return result


def startup(work: Path, sizes: Sizes) -> tuple[Pair, list[str]]:
    """`casman parts list` (the console script) against `python -c "import click, sqlite3"`."""
    database = work / "small"
    build_small(database)
    home = work / "home"  # no ~/.config/casman/config.yaml, no ./config.yaml: no YAML import
    home.mkdir()
    env = {"CASMAN_DATABASE_DIR": str(database), "HOME": str(home), "CASMAN_CONFIG": None}
    with environment(env):
        casman = [str(CASMAN), "parts", "list"]
        bare = [sys.executable, "-c", "import click, sqlite3"]
        _run(casman, home), _run(bare, home)  # warm the page cache once, untimed
        pair = paired(
            Pair("`casman parts list` start-up (subprocess)", BARE_LABEL),
            lambda: _run(casman, home),
            lambda: _run(bare, home),
            sizes.startup_runs,
        )
        probe = _probe(_IMPORT_PROBE, home)
        base_probe = _probe(_BASELINE_PROBE, home)
    heavy = probe["heavy"]
    assert isinstance(heavy, list)
    verdict = "none of them imported ✓" if not heavy else f"**imported: {', '.join(heavy)}** ✗"
    notes = [
        f"- Heavy modules checked after running `casman parts list` in-process "
        f"({', '.join(HEAVY_MODULES)}): {verdict}",
        f"- Modules in `sys.modules`: {probe['modules']} after `casman parts list` versus "
        f"{base_probe['modules']} after `import click, sqlite3`",
    ]
    return pair, notes


def _connect_pairs(count: int) -> list[tuple[str, str]]:
    """Fresh ANTENNA → LNA pairs beyond the array's serials, one per timed connect."""
    return [
        (part_number(PartType.ANTENNA, serial, "P1"), part_number(PartType.LNA, serial, "P1"))
        for serial in range(9_001, 9_001 + count)
    ]


def array_figures(work: Path, sizes: Sizes) -> tuple[ArrayInfo, Pair, Pair]:
    """(c) every chain, then (b) one validated connection, on the 10× database."""
    directory = work / "array"
    info = build_full_array(directory)
    conn = open_databases(directory)
    try:
        chains = paired(
            Pair("`all_chains` on the 10× database", "`SELECT * FROM asm.assembly` fetchall"),
            lambda: timed(lambda: all_chains(conn)),
            lambda: timed(lambda: conn.execute("SELECT * FROM asm.assembly").fetchall()),
            sizes.chains_runs,
        )
        pairs = _connect_pairs(sizes.connect_runs)
        with write_transaction(conn):
            conn.executemany(
                "INSERT INTO parts (part_number, part_type, polarization, date_created,"
                " date_modified) VALUES (?, ?, 'P1', '2025-01-01T00:00:00Z',"
                " '2025-01-01T00:00:00Z')",
                [(name, kind) for a, b in pairs for name, kind in ((a, "ANTENNA"), (b, "LNA"))],
            )
        todo = iter(pairs)
        row = (
            "BENCH",
            "ANTENNA",
            "P1",
            "2026-01-01T00:00:00Z",
            "BENCH2",
            "LNA",
            "P1",
            "2026-01-01T00:00:00Z",
            "disconnected",
        )

        def one_connect() -> float:
            source, target = next(todo)
            parsed_source, parsed_target = parse_part(source), parse_part(target)
            return timed(lambda: connect(conn, parsed_source, parsed_target))

        def bare_insert() -> float:
            return timed(
                lambda: conn.execute(
                    "INSERT INTO asm.assembly (part_number, part_type, polarization, scan_time,"
                    " connected_to, connected_to_type, connected_polarization,"
                    " connected_scan_time, connection_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
            )

        record = paired(
            Pair(
                "`assembly.connect` (validate + record) on the 10× database",
                "bare autocommit `INSERT` into `asm.assembly`, same connection",
            ),
            one_connect,
            bare_insert,
            sizes.connect_runs,
        )
    finally:
        conn.close()
    return info, chains, record


def run(sizes: Sizes) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="casman-bench-core-") as name:
        work = Path(name)
        start, notes = startup(work, sizes)
        info, chains, record = array_figures(work, sizes)
    target = "≤ 1.5× ✓" if start.ratio <= 1.5 else "**> 1.5× ✗**"
    return [
        "### 1. Core (issue «Foundation»)",
        "",
        f"10× database: {info.parts:,} parts, {info.events:,} assembly events, "
        f"{info.chains:,} chains of which {info.snap_chains} end at a SNAP port (every distinct "
        f"port), {info.boards} SNAP boards loaded from `examples/data/snap_boards.csv`.",
        "",
        TABLE_HEADER,
        start.row(),
        record.row(),
        chains.row(),
        "",
        f"- Start-up target ≤ 1.5× the bare interpreter + `import click, sqlite3`: {target}",
        *notes,
        "- `connect` opens `BEGIN IMMEDIATE`, checks both parts exist, reads the source's "
        "outgoing and the target's incoming links, appends the event and commits; the baseline "
        "is one autocommit INSERT (also a commit) on the same connection, in WAL mode.",
    ]
