"""Progress for long transfers on a terminal: a line before and after each big request.

Backends move an object in one call, so there are no byte counts to draw a bar with; a
line naming the object and its size before a long upload (and the time it took after)
is what tells a technician that casman is working, not hung. Silent when stderr is not a
terminal, and for small objects.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Generator

import click

from casman.hookspecs import hookimpl
from casman.storage.operations import BackendHandle, StorageOp

BIG_BYTES = 4 * 1024 * 1024
PLUGIN_NAME = "casman.cli.progress"


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


class ProgressPlugin:
    """A ``casman_storage_op`` wrapper that announces big transfers on a terminal."""

    @hookimpl(wrapper=True)
    def casman_storage_op(
        self, backend: BackendHandle, op: StorageOp
    ) -> Generator[None, object, object]:
        size = len(op.body) if op.kind == "put" and op.body is not None else 0
        announce = size >= BIG_BYTES and not op.dry_run
        if announce:
            click.echo(f"  ↑ uploading {op.key} ({_mb(size)}) to {backend.name}…", err=True)
        start = time.perf_counter()
        result = yield
        seconds = time.perf_counter() - start
        if op.kind == "get" and isinstance(result, tuple) and isinstance(result[0], bytes):
            size = len(result[0])
            if size >= BIG_BYTES:
                click.echo(f"  ↓ downloaded {op.key} ({_mb(size)}) in {seconds:.1f} s", err=True)
        elif announce:
            click.echo(
                f"    done in {seconds:.1f} s ({_mb(int(size / max(seconds, 1e-3)))}/s)", err=True
            )
        return result


def show_progress_on_terminal() -> None:
    """Register the progress wrapper once, when stderr is a terminal (and no ``-q``)."""
    from casman.cli.verbosity import QUIET, verbosity

    if not sys.stderr.isatty() or verbosity() == QUIET:
        return
    from casman.plugins import get_plugin_manager

    manager = get_plugin_manager()
    if manager.get_plugin(PLUGIN_NAME) is None:
        manager.register(ProgressPlugin(), name=PLUGIN_NAME)
