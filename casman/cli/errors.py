"""Turns a user-facing failure into one line on stderr and the exit code shells expect.

The codes follow the conventions scripts rely on: 1 for a failure, 2 for a usage error
(click's), 130 (128 + SIGINT) for Ctrl-C, and 0 when the reader of our output went away
(``casman parts list | head -1``): output nobody reads is not an error, as with ``git log``
piped to ``head``. Answering "n" at a confirmation is the user's choice, not a failure:
it prints ``Aborted.`` without "Error:" and exits 1, as click does.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from casman.errors import CasmanError

EXIT_INTERRUPTED = 130
"""128 + SIGINT: what a shell reports for a program stopped by Ctrl-C."""


class OutputClosed(Exception):
    """The reader of stdout went away (a closed pipe).

    Not an ``OSError``, so click's own handling of ``EPIPE`` (which exits 1) never sees it.
    """


def stdout_is_closed() -> bool:
    """Whether nobody reads our stdout any more: a pipe whose reading end is closed.

    A ``BrokenPipeError`` can also come from a socket or a child process, and that is a
    real failure; only the poll of stdout itself tells which it was (Linux and macOS flag
    a pipe without a reader with POLLERR). Where poll is missing, assume stdout.
    """
    try:
        import select

        fd = sys.stdout.fileno()
        poller = select.poll()
    except (AttributeError, OSError, ValueError):
        return True
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def closed_output_or_failure(error: BrokenPipeError) -> Exception:
    """What a broken pipe means: our reader left (quiet), or a connection broke (an error)."""
    if stdout_is_closed():
        return OutputClosed()
    return CasmanError(f"a connection closed while casman was writing to it ({error}); try again")


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _say(line: str, code: int) -> NoReturn:
    """A line that is not an error (an abort the user chose) and the exit code."""
    click.echo(line, err=True)
    sys.exit(code)


def _quiet_closed_pipe() -> NoReturn:
    """Exit 0 without a word: nothing more can be written, and nobody is reading.

    Python flushes stdout again at exit, which would raise once more and print "Exception
    ignored"; pointing the descriptor at /dev/null makes that flush harmless (the recipe of
    the Python documentation on SIGPIPE).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test runner's buffer): nothing will be flushed to a pipe
    sys.exit(0)


def _interrupted(abort: click.exceptions.Abort) -> bool:
    """Whether click's ``Abort`` stands for Ctrl-C (click turns KeyboardInterrupt into it)."""
    cause = abort.__cause__ or abort.__context__
    return isinstance(cause, KeyboardInterrupt)


def run_with_clean_errors(run: Callable[[], Any]) -> Any:
    """Run a click command in non-standalone mode, mapping every expected failure."""
    try:
        result = run()
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.Abort as abort:
        if _interrupted(abort):
            _say("Interrupted.", EXIT_INTERRUPTED)
        _say("Aborted.", 1)
    except click.UsageError as usage:
        where = f" (see '{usage.ctx.command_path} --help')" if usage.ctx is not None else ""
        _fail(f"{usage.format_message()}{where}", usage.exit_code)
    except click.ClickException as error:
        _fail(error.format_message(), error.exit_code)
    except CasmanError as error:
        _fail(str(error), error.exit_code)
    except sqlite3.DatabaseError as error:
        _fail(
            f"database problem: {error}; check CASMAN_DATABASE_DIR or restore a backup with "
            "`casman sync restore`",
            1,
        )
    except KeyboardInterrupt:
        _say("Interrupted.", EXIT_INTERRUPTED)
    except OutputClosed:
        _quiet_closed_pipe()
    except MemoryError:
        _fail("out of memory; the input is far larger than casman expects", 1)
    except OSError as error:
        # the last net: a file system refusal (full disk, read-only media, permissions)
        where = f"{error.filename}: " if error.filename else ""
        _fail(f"{where}{error.strerror or error}; check free space and permissions", 1)
    if isinstance(result, int) and result:
        sys.exit(result)
    sys.exit(0)
