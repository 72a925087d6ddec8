"""Turns a user-facing failure into one line on stderr and a non-zero exit code."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from casman.errors import CasmanError


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def run_with_clean_errors(run: Callable[[], Any]) -> Any:
    """Run a click command in non-standalone mode, mapping every expected failure."""
    try:
        result = run()
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 1)
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
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.exit(1)
    except MemoryError:
        _fail("out of memory; the input is far larger than casman expects", 1)
    except OSError as error:
        # the last net: a file system refusal (full disk, read-only media, permissions)
        where = f"{error.filename}: " if error.filename else ""
        _fail(f"{where}{error.strerror or error}; check free space and permissions", 1)
    if isinstance(result, int) and result:
        sys.exit(result)
    sys.exit(0)
