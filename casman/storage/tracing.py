"""``CASMAN_TRACE_PLUGINS=1``: one stderr line per remote call, to see what was sent.

A wrapper around ``casman_storage_op`` sees exactly what the quota wrapper counts, so the
trace is the way to check a quota reading or find a slow backend. It prints the backend,
operation, key, body size, duration and outcome: never settings or metadata values, so a
trace can be pasted into an issue.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Generator

from casman.hookspecs import hookimpl
from casman.storage.backend import ListPage
from casman.storage.operations import BackendHandle, StorageOp

TRACE_ENV = "CASMAN_TRACE_PLUGINS"


def tracing_enabled() -> bool:
    """Read at each call so a long-running process can be traced by the test that sets it."""
    return os.environ.get(TRACE_ENV, "").strip() == "1"


def _size(op: StorageOp, result: object) -> str:
    if op.kind == "put" and op.body is not None:
        return f"size={len(op.body)}"
    if op.kind == "get" and isinstance(result, tuple) and isinstance(result[0], bytes):
        return f"size={len(result[0])}"
    if op.kind == "list" and isinstance(result, ListPage):
        return f"objects={len(result.objects)}"
    return "size=-"


def format_trace(backend: str, op: StorageOp, result: object, seconds: float, outcome: str) -> str:
    """The one trace line; keys are validated ASCII, so they are printed as they are."""
    conditions = ""
    if op.if_none_match is not None:
        conditions += " if_none_match=*"
    if op.if_match is not None:
        conditions += " if_match=etag"
    return (
        f"casman trace: backend={backend} op={op.kind} key={op.key or '-'} "
        f"{_size(op, result)}{conditions} duration_ms={seconds * 1000:.1f} outcome={outcome}"
    )


class TracingPlugin:
    """Built-in plugin; does nothing unless CASMAN_TRACE_PLUGINS=1."""

    @hookimpl(wrapper=True)
    def casman_storage_op(
        self, backend: BackendHandle, op: StorageOp
    ) -> Generator[None, object, object]:
        if not tracing_enabled():
            return (yield)
        start = time.perf_counter()
        try:
            result = yield
        except BaseException as error:
            line = format_trace(
                backend.name, op, None, time.perf_counter() - start, type(error).__name__
            )
            print(line, file=sys.stderr, flush=True)
            raise
        outcome = "dry-run (not sent)" if op.dry_run else "ok"
        line = format_trace(backend.name, op, result, time.perf_counter() - start, outcome)
        print(line, file=sys.stderr, flush=True)
        return result
