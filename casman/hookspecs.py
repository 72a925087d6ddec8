"""Every hook casman calls on its plugins, one docstring each (DESIGN §4).

Plugins implement them with ``@hookimpl`` (importable as ``casman.storage.hookimpl``); the
host that owns the one PluginManager is :mod:`casman.plugins`. This module imports only
pluggy at run time, so any layer may import the markers without loading the engine: the
types in the signatures are for type checkers only.

What a caller gets back, by hook (pluggy's rules, written down so a wrapper knows what its
``yield`` gives it):

- ``casman_register_backends``: nothing; each plugin calls ``register``.
- ``casman_storage_op`` is ``firstresult``: the caller, and every ``wrapper=True``
  implementation at its ``yield``, gets **one** value, a :data:`~casman.storage.StorageResult`
  (never a list), or the exception the inner implementations raised.
- ``casman_after_change``: an empty list, which casman ignores: every implementation
  returns ``None``, and pluggy leaves ``None`` out of a hook's results.
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
    from casman.storage.operations import BackendHandle, StorageOp, StorageResult

PROJECT_NAME = "casman"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def casman_register_backends(register: Callable[[BackendSpec], None]) -> None:
    """Register storage backends by calling ``register(BackendSpec(...))`` once per backend.

    Called once per plugin when a backend is first looked up. The name in the spec is what
    users pass to ``--backend``; a name registered twice, or a spec declaring a storage
    protocol this casman cannot serve, is refused with one line that ``casman plugins``
    shows. The factory must not do network I/O. Returns nothing.
    """


@hookspec(firstresult=True)
def casman_storage_op(backend: BackendHandle, op: StorageOp) -> StorageResult:
    """Perform one remote call (put, get, head, list or delete) on ``backend``.

    Every call the sync engine makes goes through this hook; casman's own implementation
    (registered ``trylast``) performs it on ``backend.impl``, passing only the arguments the
    backend's methods accept, and returns its result: an ObjectInfo for put and head,
    ``(body, ObjectInfo)`` for get, a ListPage for list, True for delete, or None for a
    dry-run op stopped before the backend. Cross-cutting concerns are
    ``@hookimpl(wrapper=True)`` generators around it (size limit, quota, tracing, retries);
    the ``yield`` hands them that one result. A wrapper must re-raise what it does not handle.
    """


@hookspec
def casman_after_change(config: Config, database_dir: Path, change: Change) -> None:
    """Called once after every committed change to a database (its COMMIT succeeded).

    ``change`` names the database, the kind (``parts add``, ``connect``, ``disconnect``,
    ``assign``, ``remove``, ``load-snap-boards``, ``load-coordinates``) and how many records
    it touched. casman's automatic publishing is an implementation of this hook, the built-in
    plugin ``casman.sync.auto``. An implementation returns None, must return quickly — a
    technician is waiting for the next scan — and must not raise: failures are logged,
    never shown as a failed change, because the change is already committed.
    """


HOOK_NAMES: tuple[str, ...] = (
    "casman_register_backends",
    "casman_storage_op",
    "casman_after_change",
)
"""Every hook above, in the order ``casman plugins`` lists them."""
