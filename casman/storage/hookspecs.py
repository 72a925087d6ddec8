"""The hooks casman calls on its plugins. Every hook here is documented and tested.

Plugins implement them with ``@casman.storage.hookimpl``; the host owns the one
PluginManager (:mod:`casman.storage.plugins`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    from casman.config import Config
    from casman.db.changes import Change
    from casman.storage.backend import BackendSpec
    from casman.storage.operations import BackendHandle, StorageOp

PROJECT_NAME = "casman"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def casman_register_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register storage backends by calling ``register(BackendSpec(...))`` once per backend.

    Called once when the plugin manager is first used. The name in the spec is what users
    pass to ``--backend``; registering a name twice is an error reported by ``casman
    plugins``. The factory must not do network I/O.
    """


@hookspec(firstresult=True)
def casman_storage_op(backend: BackendHandle, op: StorageOp) -> object:
    """Perform one remote call (put, get, head, list or delete) on ``backend``.

    Every call the sync engine makes goes through this hook; casman's own implementation
    (registered last) performs it on ``backend.impl`` and returns its result. Cross-cutting
    concerns are ``@hookimpl(wrapper=True)`` implementations around it: quota enforcement
    (which may raise QuotaExceededError before anything is sent), tracing
    (``CASMAN_TRACE_PLUGINS=1``), retries. A wrapper must re-raise what it does not handle.
    """


@hookspec
def casman_after_change(config: Config, database_dir: Path, change: Change) -> None:
    """Called once after every committed change to a database (its COMMIT succeeded).

    ``change`` names the database, the kind (``parts add``, ``connect``, ``disconnect``,
    ``assign``, ``remove``, ``load-snap-boards``, ``load-coordinates``) and how many records
    it touched. casman's automatic backups are an implementation of this hook
    (:mod:`casman.sync.auto`). An implementation must return quickly — a technician is
    waiting for the next scan — and must not raise: failures are logged, never shown as a
    failed change, because the change is already committed.
    """
