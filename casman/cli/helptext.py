"""What help shows beyond click's defaults: whole one-line summaries and the environment.

click makes a command's summary in a group's listing from the first sentence of its help
and cuts it with "..." when it is long, which left half the listings mid-sentence. Every
command therefore has an explicit ``short_help`` that fits one line; the commands of the
``sync`` group (defined in a module owned by the sync engine's maintainers) get theirs
from :data:`SUMMARIES` when they declare none, and any command still without one gets its
first sentence whole, never cut.
"""

from __future__ import annotations

import re

import click

SUMMARIES: dict[str, str] = {
    "casman sync backup": "Publish the databases to the storage backend.",
    "casman sync list": "List the backups, newest first.",
    "casman sync restore": "Restore a backup after verifying it.",
    "casman sync sync": "Converge with the store and other sites' work.",
    "casman sync push": "Publish the automatic backups waiting now.",
    "casman sync status": "Settings, reachability, databases and quota.",
    "casman sync maintain": "Verify the backups and apply retention.",
}
"""Summaries of commands whose own module declares none, by command path."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def first_sentence(text: str) -> str:
    """The first sentence of a help text, whole (an "e.g." does not end it)."""
    paragraph = " ".join(text.strip().split("\n\n")[0].split())
    for match in _SENTENCE_END.finditer(paragraph):
        before = paragraph[: match.start()]
        if not before.endswith(("e.g.", "i.e.", "etc.")):
            return before
    return paragraph


def ensure_summaries(command: click.Command, path: str) -> None:
    """Give ``command`` and everything under it a one-line summary that is never cut."""
    if not command.short_help:
        command.short_help = SUMMARIES.get(path) or first_sentence(command.help or "")
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            ensure_summaries(sub, f"{path} {name}")


def format_environment(formatter: click.HelpFormatter, rows: tuple[tuple[str, str], ...]) -> None:
    """The "Environment variables" section: names on the left, what they do on the right.

    A row naming several variables lists them on lines of their own, the description
    under them, so no line is wider than the help.
    """
    import textwrap

    column = 27
    indent = " " * formatter.current_indent
    width = max(formatter.width - formatter.current_indent - column - 2, 20)
    for names, what in rows:
        lines = names.split("\n")
        described = textwrap.wrap(what, width) or [""]
        if len(lines) == 1 and len(names) <= column:
            formatter.write(f"{indent}{names.ljust(column)}  {described[0]}\n")
        else:
            for line in lines:
                formatter.write(f"{indent}{line}\n")
            formatter.write(f"{indent}{' ' * (column + 2)}{described[0]}\n")
        for line in described[1:]:
            formatter.write(f"{indent}{' ' * (column + 2)}{line}\n")
