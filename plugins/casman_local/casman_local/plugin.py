"""Registers backend ``local``; imports nothing but casman.storage (the backend loads later)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from casman.storage import Backend, BackendOption, BackendSpec, Capabilities, CostModel, hookimpl

DEFAULT_PATH = "~/.local/share/casman/backups"


def make_backend(settings: Mapping[str, Any]) -> Backend:
    """The factory: a LocalBackend rooted at the resolved ``path`` (created on first put)."""
    from casman_local.backend import LocalBackend

    return LocalBackend(str(settings.get("path") or DEFAULT_PATH))


SPEC = BackendSpec(
    name="local",
    factory=make_backend,
    description="A directory (NAS mount, USB stick); backups are plain SQLite files.",
    options=(
        BackendOption(
            name="path",
            description="Directory that holds the objects.",
            env="CASMAN_LOCAL_PATH",
            default=DEFAULT_PATH,
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
