"""Registers backend ``fsspec``. Imports nothing heavy: fsspec loads only in the factory."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from casman.storage import (
    Backend,
    BackendConfigError,
    BackendOption,
    BackendSpec,
    Capabilities,
    CostModel,
    hookimpl,
)


def _options(value: Any) -> dict[str, Any]:
    """``options`` from config.yaml (a mapping) or CASMAN_FSSPEC_OPTIONS (a JSON object)."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    try:
        parsed = json.loads(str(value))
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise BackendConfigError(
            "backend fsspec: CASMAN_FSSPEC_OPTIONS must be a JSON object such as "
            '{"port": 2222}, and fsspec.options in config.yaml a mapping'
        )
    return parsed


def make_backend(settings: Mapping[str, Any]) -> Backend:
    """The factory: an FsspecBackend for the URL (no network I/O until the first call)."""
    url = str(settings.get("url") or "").strip()
    if not url:
        raise BackendConfigError("backend fsspec needs CASMAN_FSSPEC_URL (or fsspec.url)")
    from casman_fsspec.backend import FsspecBackend

    return FsspecBackend(url, _options(settings.get("options")))


SPEC = BackendSpec(
    name="fsspec",
    factory=make_backend,
    description="Any fsspec URL (sftp://, s3:// via s3fs, gcs://, memory://, file://…).",
    options=(
        BackendOption(
            name="url",
            description="Where the objects go, e.g. sftp://user@nas/casman or memory://casman.",
            env="CASMAN_FSSPEC_URL",
            required=True,
        ),
        BackendOption(
            name="options",
            description="Options for the filesystem (fsspec storage_options), as a mapping "
            "in config.yaml or a JSON object in the variable; may hold a password.",
            env="CASMAN_FSSPEC_OPTIONS",
            secret=True,
        ),
    ),
    # What every URL has; a backend instance declares what its own URL guarantees
    # (conditional writes on memory, file, sftp and s3; see casman_fsspec.backend).
    capabilities=Capabilities(
        conditional_writes=False,
        cost_model=CostModel(default_limits={}, label="fsspec"),
        etag="opaque",
    ),
)


@hookimpl
def casman_register_backends(register: Callable[[BackendSpec], None]) -> None:
    register(SPEC)
