"""Turns a user-facing failure into one line on stderr and a non-zero exit code."""

from __future__ import annotations

import sqlite3
import sys
from typing import Any

import click

from casman.errors import CasmanError


def run_with_clean_errors(command: click.Command, argv: list[str]) -> Any:
    try:
        return command.main(args=argv, prog_name="casman", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as usage:
        usage.show()
        sys.exit(usage.exit_code)
    except CasmanError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)
    except sqlite3.DatabaseError as error:
        click.echo(
            f"Error: database problem: {error}. Check the database directory "
            "(CASMAN_DATABASE_DIR) or restore a backup with `casman sync restore`.",
            err=True,
        )
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
