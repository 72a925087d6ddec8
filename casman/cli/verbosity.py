"""How much casman says on stderr: ``-q`` only errors, default warnings, ``-v`` what it
does, ``-vv`` debug detail.

The levels are the ``casman`` logger's (ERROR, WARNING, INFO, DEBUG), so the engine's own
log lines follow the flag, and the CLI's notes (a stale off-site copy, databases just
created, progress of big transfers, configuration warnings) go through :func:`note`, which
``-q`` silences. Data on stdout never depends on the level: ``-q`` is for scripts and cron
that want output or an error, nothing else.
"""

from __future__ import annotations

import logging

import click

QUIET, NORMAL, VERBOSE, DEBUG = -1, 0, 1, 2
_LEVELS = {QUIET: logging.ERROR, NORMAL: logging.WARNING, VERBOSE: logging.INFO}
log = logging.getLogger("casman.cli")


class _EchoHandler(logging.Handler):
    """Writes through ``click.echo`` to whatever stderr is now (CliRunner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(self.format(record), err=True)
        except Exception:  # a log line must never be what fails a command
            self.handleError(record)


class _Formatter(logging.Formatter):
    """``Warning: …`` by default; level and logger name with ``-v``."""

    def __init__(self, detailed: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s" if detailed else "%(message)s")
        self.detailed = detailed

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if self.detailed:
            return text
        return f"{record.levelname.capitalize()}: {text}"


def set_verbosity(level: int) -> None:
    """Point the ``casman`` logger at stderr with the level of ``-q``/``-v``/``-vv``."""
    logger = logging.getLogger("casman")
    handler = next((h for h in logger.handlers if isinstance(h, _EchoHandler)), None)
    if handler is None:
        handler = _EchoHandler()
        logger.addHandler(handler)
    handler.setFormatter(_Formatter(detailed=level >= VERBOSE))
    logger.setLevel(_LEVELS.get(level, logging.DEBUG))


def verbosity() -> int:
    """The level of the command being run (NORMAL outside a command)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return NORMAL
    obj = ctx.find_root().obj
    level = obj.get("verbosity", NORMAL) if isinstance(obj, dict) else NORMAL
    return int(level)


def note(message: str) -> None:
    """A line for the person at the terminal (stderr), unless ``-q`` was given."""
    if verbosity() > QUIET:
        click.echo(message, err=True)
