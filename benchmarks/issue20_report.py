"""What the issue-20 benchmark measured (:class:`SizeResult`, one per database size), and
its markdown: the tables of ``benchmarks/README.md`` section 6, each figure beside the
issue's goal. Rendering only: nothing here measures or asserts."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from common import TABLE_HEADER, Pair, fmt_bytes, fmt_seconds, machine_lines

SIDES = ("casman", "litestream")


def _sides() -> dict[str, list[float]]:
    return {side: [] for side in SIDES}


@dataclass
class SizeResult:
    label: str
    database: int = 0
    records: int = 0
    first_publish: tuple[float, int] = (0.0, 0)
    first_snapshot: tuple[float, int] = (0.0, 0)
    growth: dict[str, list[float]] = field(default_factory=_sides)
    uploaded: list[float] = field(default_factory=list)
    publish_seconds: list[float] = field(default_factory=list)
    after_scans: dict[str, int] = field(default_factory=dict)
    checkpoints_in_store: int = 0
    moments: dict[str, int] = field(default_factory=dict)
    checked: dict[str, str] = field(default_factory=dict)
    restore_seconds: dict[str, list[float]] = field(default_factory=_sides)
    latency: dict[str, list[float]] = field(default_factory=_sides)
    cli_growth: list[float] = field(default_factory=list)
    publisher_checkpoints: int = 0
    full_download: tuple[float, int] = (0.0, 0)
    converge_seconds: list[float] = field(default_factory=list)
    converge_bytes: list[float] = field(default_factory=list)
    converge_steps: list[list[float]] = field(default_factory=list)
    copy_seconds: list[float] = field(default_factory=list)
    converge_memory: tuple[int, int] = (0, 0)
    checkpoint: Pair | None = None
    memory: tuple[float, float, int] = (0.0, 0.0, 0)
    no_op: Pair | None = None

    @property
    def scans(self) -> int:
        return len(self.growth["casman"])


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b and a == a and b == b else "—"


def mark(ok: bool) -> str:
    return "✓" if ok else "**✗**"


def _first_table(results: list[SizeResult]) -> list[str]:
    def row(name: str, cells: list[str]) -> str:
        return f"| {name} | " + " | ".join(cells) + " |"

    return [
        "| | " + " | ".join(r.label for r in results) + " |",
        "|---|" + "---:|" * len(results),
        row(
            "database pair (parts.db + assembled_casm.db)", [fmt_bytes(r.database) for r in results]
        ),
        row("change records in it", [f"{r.records:,}" for r in results]),
        row(
            "casman: first publish (time; store then)",
            [
                f"{fmt_seconds(r.first_publish[0])}; {fmt_bytes(r.first_publish[1])}"
                for r in results
            ],
        ),
        row(
            "Litestream: first snapshot (time; replica then)",
            [
                f"{fmt_seconds(r.first_snapshot[0])}; {fmt_bytes(r.first_snapshot[1])}"
                for r in results
            ],
        ),
    ]


def _side_by_side(results: list[SizeResult]) -> list[str]:
    lines = [
        "| figure | size | casman | Litestream | casman ÷ Litestream | issue 20's goal |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        cas, lit = median(r.growth["casman"]), median(r.growth["litestream"])
        lines.append(
            f"| store growth per scan (median of {r.scans}) | {r.label} | {fmt_bytes(cas)} | "
            f"{fmt_bytes(lit)} | {ratio(cas, lit)} | ≤ 2× Litestream {mark(cas <= 2 * lit)} |"
        )
    for r in results:
        lines.append(
            f"| bytes uploaded per scan (median; casman's PUTs: segment + whole head) | "
            f"{r.label} | {fmt_bytes(median(r.uploaded))} | "
            f"{fmt_bytes(median(r.growth['litestream']))} | "
            f"{ratio(median(r.uploaded), median(r.growth['litestream']))} | |"
        )
    for r in results:
        cas, lit = r.latency["casman"], r.latency["litestream"]
        worst = max(cas, default=float("nan"))
        lines.append(
            f"| scan's exit → in the store, automatic publishing (median; max of {len(cas)}) | "
            f"{r.label} | {fmt_seconds(median(cas))}; {fmt_seconds(worst)} | "
            f"{fmt_seconds(median(lit))}; {fmt_seconds(max(lit, default=float('nan')))} | "
            f"{ratio(median(cas), median(lit))} | ≤ 2 s {mark(worst <= 2.0)} |"
        )
    for r in results:
        cas, lit = r.after_scans.get("casman", 0), r.after_scans.get("litestream", 0)
        lines.append(
            f"| store size after the {r.scans} scans (casman: {r.checkpoints_in_store} "
            f"checkpoint(s) in it) | {r.label} | {fmt_bytes(cas)} | {fmt_bytes(lit)} | "
            f"{ratio(cas, lit)} | ≤ 2× Litestream {mark(cas <= 2 * lit)} |"
        )
    for r in results:
        cas, lit = r.moments.get("casman", 0), r.moments.get("litestream", 0)
        lines.append(
            f"| restorable moments of the {r.scans} scans | {r.label} | {cas} "
            f"({r.checked.get('casman', '')}) | {lit} ({r.checked.get('litestream', '')}) | | "
            f"{r.scans} of {r.scans} {mark(cas == r.scans)} |"
        )
    for r in results:
        cas, lit = median(r.restore_seconds["casman"]), median(r.restore_seconds["litestream"])
        runs = len(r.restore_seconds["casman"])
        lines.append(
            f"| restore one moment into a new folder (median of {runs}) | {r.label} | "
            f"{fmt_seconds(cas)} | {fmt_seconds(lit)} | {ratio(cas, lit)} | |"
        )
    for r in results:
        lines.append(
            f"| publisher's run after one scan, in process (median) | {r.label} | "
            f"{fmt_seconds(median(r.publish_seconds))} | — | | |"
        )
    return lines


def _converge(results: list[SizeResult]) -> list[str]:
    lines = [
        "| size | bytes moved (median) | ÷ database | time (median) | A; B; A (medians) | "
        "B's peak memory (Python; RSS growth) | full download: bytes; time (1 run) | "
        "converge ÷ full download | copying the pair (median) |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in results:
        moved, seconds = median(r.converge_bytes), median(r.converge_seconds)
        steps = "; ".join(fmt_seconds(median([s[k] for s in r.converge_steps])) for k in range(3))
        peak, rss = r.converge_memory
        lines.append(
            f"| {r.label} | {fmt_bytes(moved)} | {moved / r.database:.2%} "
            f"(≤ 5 % {mark(moved <= 0.05 * r.database)}) | {fmt_seconds(seconds)} | {steps} | "
            f"{fmt_bytes(peak)}; {fmt_bytes(rss)} ({peak / r.database:.2f}× the database) | "
            f"{fmt_bytes(r.full_download[1])}; {fmt_seconds(r.full_download[0])} | "
            f"{ratio(seconds, r.full_download[0])} (≤ 1× "
            f"{mark(seconds <= r.full_download[0])}) | {fmt_seconds(median(r.copy_seconds))} |"
        )
    return lines


def _checkpoints(results: list[SizeResult]) -> list[str]:
    lines = [TABLE_HEADER, *(r.checkpoint.row() for r in results if r.checkpoint), ""]
    lines += [
        "| size | database pair | checkpoint ÷ floor (goal ≤ 2×) | peak Python memory "
        "(tracemalloc) ÷ size | peak RSS growth ÷ size (goal ≤ 1.5×) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        over = r.checkpoint.ratio if r.checkpoint else float("nan")
        lines.append(
            f"| {r.label} | {fmt_bytes(r.memory[2])} | {over:.2f}× {mark(over <= 2)} | "
            f"{r.memory[0]:.2f}× | {r.memory[1]:.2f}× {mark(r.memory[1] <= 1.5)} |"
        )
    return lines


def _no_op(results: list[SizeResult]) -> list[str]:
    lines = [TABLE_HEADER, *(r.no_op.row() for r in results if r.no_op)]
    if len(results) == 2 and results[0].no_op and results[1].no_op:
        small, big = results[0].no_op, results[1].no_op
        lines.append(
            f"| no-op `casman sync sync`, {results[1].label} (process) | "
            f"{fmt_seconds(big.median)} | the same, {results[0].label} | "
            f"{fmt_seconds(small.median)} | **{big.median / small.median:.2f}×** | "
            f"{len(big.subject)} |"
        )
    return lines


def report(results: list[SizeResult], seconds: float, quick: bool) -> list[str]:
    """Section 6 of the README, from the measurements of every size."""
    notes = [
        f"- {r.label}: each CLI scan of step 3 grew the store by "
        f"{fmt_bytes(median(r.cli_growth))} (median); the publisher made "
        f"{r.publisher_checkpoints} checkpoint(s) during step 3."
        for r in results
    ]
    return [
        "### 6. Sync side by side with Litestream (issue 20)"
        + (" (--quick: too few runs to quote)" if quick else ""),
        "",
        *machine_lines(),
        f"- This section's run: {seconds:.0f} s; `.venv/bin/python "
        "benchmarks/bench_sync_scale.py` (`run.py` runs it too).",
        "",
        *_first_table(results),
        "",
        "**The same scans, side by side** (steps 2 and 3; store sizes count objects, not the "
        "`local` backend's metadata sidecars):",
        "",
        *_side_by_side(results),
        "",
        "**Two sites diverging by one scan each** (step 4: A and B each make one scan, then "
        "A, B, A sync; bytes = request bodies both ways):",
        "",
        *_converge(results),
        "",
        "**Checkpoint** (step 5: `take_checkpoint`, as `casman sync backup` after its sync):",
        "",
        *_checkpoints(results),
        "",
        "**No-op sync** (step 6, real processes):",
        "",
        *_no_op(results),
        "",
        *notes,
    ]
