"""``casman scan``: the barcode-scanner loop.

A USB scanner types a part number and Enter. Each scan is validated at once so the
technician hears about a wrong part before scanning the next one; the loop ends on an
empty line or end of input, so it also works with a pipe (``casman scan connection < file``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from casman.cli.common import open_db
from casman.domain.connections import Part, parse_part
from casman.domain.timestamps import now_iso
from casman.errors import CasmanError


def _read(prompt: str, interactive: bool) -> str | None:
    if interactive:
        click.echo(prompt, nl=False, err=True)
    line = sys.stdin.readline()
    if line == "":
        return None
    return line.strip()


def _scan_part(prompt: str, interactive: bool) -> tuple[Part, str] | None:
    """Read until a well-formed part number (returned with its scan time) or the end."""
    while True:
        text = _read(prompt, interactive)
        if not text:
            return None
        try:
            return parse_part(text), now_iso()
        except CasmanError as error:
            click.echo(f"✗ {error}", err=True)


def _loop(verb: str, record: Callable[..., int], after: str) -> None:
    interactive = sys.stdin.isatty()
    done = refused = 0
    if interactive:
        click.echo(
            f"Scanning {verb}s: scan the source, then the target. Empty line to finish.", err=True
        )
    with open_db() as conn:
        while True:
            source = _scan_part("source> ", interactive)
            if source is None:
                break
            target = _scan_part("target> ", interactive)
            if target is None:
                click.echo(
                    f"✗ {source[0].part_number} scanned without a target; nothing recorded",
                    err=True,
                )
                refused += 1
                break
            try:
                record(conn, source[0], target[0], source[1], target[1])
            except CasmanError as error:
                click.echo(f"✗ {error}", err=True)
                refused += 1
                continue
            done += 1
            arrow = "→" if verb == "connection" else "↛"
            click.echo(f"✓ {source[0].part_number} {arrow} {target[0].part_number}")
            from casman.sync.triggers import after_change

            after_change(after)
    click.echo(f"{done} {verb}(s) recorded, {refused} refused", err=True)
    if refused:
        sys.exit(1)


@click.group()
def scan() -> None:
    """Interactive barcode scanning of connections and disconnections."""


@scan.command("connection")
def connection() -> None:
    """Scan SOURCE then TARGET pairs and connect each; stops at an empty line or EOF."""
    from casman.db.assembly import connect

    _loop("connection", connect, "connect")


@scan.command("disconnection")
def disconnection() -> None:
    """Scan SOURCE then TARGET pairs and disconnect each; stops at an empty line or EOF."""
    from casman.db.assembly import disconnect

    _loop("disconnection", disconnect, "disconnect")
