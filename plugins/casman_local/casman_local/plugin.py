"""Registers backend ``local``; imports nothing but casman.storage (the backend loads later).

Where backups go by default: ``store/`` in the per-user data directory
(``$XDG_DATA_HOME/casman/store``, ``~/.local/share/casman/store`` when unset), beside the
default ``database/`` and never inside it, so whatever keys the sync engine writes stay in
one folder of their own. casman 0.2.0 rooted the store at ``…/casman/backups``, and its
keys began with ``backups/`` too (``backups/backups/…``); a store found there, with none
in the new place, is still the default, so an upgrade never loses sight of its backups.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from casman.storage import Backend, BackendOption, BackendSpec, Capabilities, CostModel, hookimpl

DEFAULT_DESCRIPTION = "$XDG_DATA_HOME/casman/store, ~/.local/share when unset"
"""What ``path`` is when unset (shown by ``casman plugins``)."""


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """The store root when ``path`` is unset: ``store/`` of the per-user data directory,
    or 0.2.0's ``backups/`` when only that one exists."""
    from casman.config import user_data_dir

    data = user_data_dir(os.environ if environ is None else environ)
    store, old_root = data / "store", data / "backups"
    if not store.exists() and old_root.is_dir():
        return old_root
    return store


def make_backend(settings: Mapping[str, Any]) -> Backend:
    """The factory: a LocalBackend rooted at the resolved ``path`` (created on first put)."""
    from casman_local.backend import LocalBackend

    return LocalBackend(str(settings.get("path") or default_path()))


SPEC = BackendSpec(
    name="local",
    factory=make_backend,
    description="A directory (NAS mount, USB stick); backups are plain SQLite files.",
    options=(
        BackendOption(
            name="path",
            description=f"Directory that holds the objects (default: {DEFAULT_DESCRIPTION}).",
            env="CASMAN_LOCAL_PATH",
        ),
    ),
    capabilities=Capabilities(
        conditional_writes=True,
        # A local disk is not billed: no default limits, so no enforcement unless the user
        # configures `local: {quota: …}` (then requests are counted like S3's classes).
        cost_model=CostModel(default_limits={}, label="local disk"),
        etag="md5",
        listing_order="sorted",
        metadata_names="lowercase",
    ),
)


@hookimpl
def casman_register_backends(register: Callable[[BackendSpec], None]) -> None:
    register(SPEC)
