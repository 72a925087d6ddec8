"""Run every casman benchmark and rewrite the results sections of benchmarks/README.md.

    .venv/bin/python benchmarks/run.py            # full run (~5 min), rewrites the README
    .venv/bin/python benchmarks/run.py --quick    # smoke run (~2 min), prints only

Figures are medians of interleaved runs of casman and a baseline measured in the same
process; see README.md. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_auto
import bench_core
import bench_s3
import bench_scale
import bench_sync
import bench_sync_scale
from common import machine_lines

README = Path(__file__).resolve().parent / "README.md"
START = "<!-- results:start -->"
END = "<!-- results:end -->"


def results(quick: bool) -> list[str]:
    began = time.perf_counter()
    sections = [
        bench_core.run(bench_core.QUICK if quick else bench_core.FULL),
        bench_sync.run(),
        bench_s3.run(bench_s3.QUICK if quick else bench_s3.RUNS),
        bench_auto.run(bench_auto.QUICK if quick else bench_auto.SCANS),
    ]
    lines = [
        "## Results" + (" (--quick: too few runs to quote)" if quick else ""),
        "",
        *machine_lines(),
        f"- Sections 1, 2, 3 and 5: {time.perf_counter() - began:.0f} s (4 and 6 say their own)",
    ]
    for section in sections:
        lines += ["", *section]
    return lines


def rewrite(readme: Path, body: list[str], start: str = START, end: str = END) -> bool:
    """Replace what lies between the markers; False when the README has no markers."""
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{chr(10).join(body)}\n{end}{tail}", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="few runs; print, don't write")
    parser.add_argument("--no-write", action="store_true", help="print only; leave README")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    body = results(args.quick)
    print("\n".join(body))
    scale = bench_scale.section(args.quick)  # its own block: it can also run alone
    print("\n" + "\n".join(scale))
    side = bench_sync_scale.run(args.quick)  # its own block too
    print("\n" + "\n".join(side))
    print(f"\nwhole run: {time.perf_counter() - began:.0f} s", file=sys.stderr)
    if not (args.quick or args.no_write):
        blocks = (
            (body, START, END),
            (scale, bench_scale.START, bench_scale.END),
            (side, bench_sync_scale.START, bench_sync_scale.END),
        )
        for block, start, end in blocks:
            done = rewrite(README, block, start, end)
            what = "rewrote" if done else "no markers, paste the above:"
            print(f"\n{what} {start} … {end} of {README}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
