"""``casman scan``: the barcode-scanner loop.

A USB scanner types a part number and Enter. At a terminal each scan is validated at once
so the technician hears about a wrong part before scanning the next one, and is asked to
scan it again. Piped input (``casman scan connection < file``) is read strictly as pairs of
lines, so one bad line costs its own pair and never shifts the others. The loop ends on an
empty line or end of input.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

import click

from casman.cli.common import open_db, writes_database
from casman.cli.verbosity import note
from casman.domain.connections import Part, parse_part
from casman.domain.timestamps import now_iso
from casman.errors import CasmanError

MAX_SCAN_CHARS = 1024
"""Far longer than any part number; a longer line is one bad scan, not many."""


@dataclass(frozen=True)
class _Pair:
    """A well-formed source and target, with their scan times and where they came from."""

    source: Part
    target: Part
    source_time: str
    target_time: str
    where: str = ""  # "lines 3-4: " for piped input, so a refusal points at the file


@dataclass(frozen=True)
class _Refusal:
    """A pair that cannot be recorded before even asking the database (one ✗ line)."""

    message: str


Scan = _Pair | _Refusal


def _interactive_scans(prompt: Callable[[str], str | None]) -> Iterator[Scan]:
    """A technician at a terminal: a bad scan is reported at once and the same role is
    asked for again, so they rescan the part they are holding."""

    def scan_part(label: str) -> tuple[Part, str] | None:
        while True:
            text = prompt(label)
            if not text:
                return None
            try:
                return parse_part(text), now_iso()
            except CasmanError as error:
                click.echo(f"✗ {error}", err=True)

    while True:
        source = scan_part("source> ")
        if source is None:
            return
        target = scan_part("target> ")
        if target is None:
            yield _Refusal(f"{source[0].part_number} scanned without a target; nothing recorded")
            return
        yield _Pair(source[0], target[0], source[1], target[1])


def _piped_scans(lines: Iterable[str]) -> Iterator[Scan]:
    """Input that nobody sees as it is read (a pipe or a file) is read strictly as pairs.

    Lines 1-2 are the first (source, target), lines 3-4 the second, and so on: a malformed
    line invalidates its own pair only. Re-asking, as at a terminal, would take the next
    line as the source and shift every later pair, recording connections that are not in
    the input. An empty line (or the end) finishes; a source left without a target is
    reported. Lines are read lazily, so each scan time is when its line arrived.
    """
    numbered = enumerate((line.strip() for line in lines), start=1)
    for source_line, source_text in numbered:
        if not source_text:
            return
        source_time = now_iso()
        target_line, target_text = next(numbered, (source_line + 1, ""))
        if not target_text:
            yield _Refusal(
                f"line {source_line}: {source_text} scanned without a target; nothing recorded"
            )
            return
        target_time = now_iso()
        problems = []
        parsed: list[Part] = []
        for line_number, text in ((source_line, source_text), (target_line, target_text)):
            try:
                parsed.append(parse_part(text))
            except CasmanError as error:
                problems.append(f"line {line_number}: {error}")
        if problems:
            pair = f"lines {source_line}-{target_line}"
            yield _Refusal(f"{'; '.join(problems)}; pair {pair} not recorded")
            continue
        source, target = parsed
        yield _Pair(
            source, target, source_time, target_time, f"lines {source_line}-{target_line}: "
        )


def _read_line(stream: TextIO) -> str | None:
    """One line of input, None at the end.

    A line longer than any barcode is cut and the rest of it skipped, so it is reported as
    one bad scan: unbounded, ``casman scan connection < /dev/zero`` would fill memory, and
    read in pieces it would become several lines and shift the pairing.
    """
    line = stream.readline(MAX_SCAN_CHARS)
    if line == "":
        return None
    if line.endswith("\n") or len(line) < MAX_SCAN_CHARS:
        return line
    rest = line
    while rest and not rest.endswith("\n"):
        rest = stream.readline(MAX_SCAN_CHARS)
    return line[:40] + "…"


def _prompt(label: str) -> str | None:
    click.echo(label, nl=False, err=True)
    line = _read_line(sys.stdin)
    return None if line is None else line.strip()


def _loop(verb: str, record: Callable[..., int], after: str) -> None:
    interactive = sys.stdin.isatty()
    done = refused = 0
    if interactive:
        note(f"Scanning {verb}s: scan the source, then the target. Empty line to finish.")
    scans = _interactive_scans(_prompt) if interactive else _piped_scans(_stdin_lines())
    with open_db() as conn:
        while True:
            scan = next(scans, None)
            if scan is None:
                break
            if isinstance(scan, _Refusal):
                click.echo(f"✗ {scan.message}", err=True)
                refused += 1
                continue
            try:
                record(conn, scan.source, scan.target, scan.source_time, scan.target_time)
            except CasmanError as error:
                click.echo(f"✗ {scan.where}{error}", err=True)
                refused += 1
                continue
            done += 1
            arrow = "→" if verb == "connection" else "↛"
            click.echo(f"✓ {scan.source.part_number} {arrow} {scan.target.part_number}")

    note(f"{done} {verb}(s) recorded, {refused} refused")
    if refused:
        sys.exit(1)


def _stdin_lines() -> Iterator[str]:
    """Lines of stdin as they arrive (``readline``, not a read-ahead iterator)."""
    while (line := _read_line(sys.stdin)) is not None:
        yield line


@click.group()
def scan() -> None:
    """Interactive barcode scanning of connections and disconnections."""


@scan.command("connection", short_help="Scan source/target pairs and connect them.")
@writes_database
def connection() -> None:
    """Scan SOURCE then TARGET pairs and connect each; stops at an empty line or EOF."""
    from casman.db.assembly import connect

    _loop("connection", connect, "connect")


@scan.command("disconnection", short_help="Scan source/target pairs and disconnect them.")
@writes_database
def disconnection() -> None:
    """Scan SOURCE then TARGET pairs and disconnect each; stops at an empty line or EOF."""
    from casman.db.assembly import disconnect

    _loop("disconnection", disconnect, "disconnect")
