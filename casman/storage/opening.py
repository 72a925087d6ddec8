"""From a backend's name to a ready :class:`~casman.storage.Storage`, as ``casman sync`` does.

Options are resolved, the factory builds the instance, the host checks it can call it
(:mod:`casman.storage.compat`: a backend it cannot use is refused here, before any
request, with one line), and every call then goes through the ``casman_storage_op`` hook.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from casman.config import Config
from casman.plugins import plugin_manager_for
from casman.storage.backend import BackendSpec, declared_capabilities
from casman.storage.errors import BackendConfigError
from casman.storage.operations import DEFAULT_ATTEMPTS, BackendHandle, Storage
from casman.storage.options import describe_settings, present, resolve_options
from casman.storage.registry import get_backend_spec

log = logging.getLogger("casman.storage")

AUTOMATIC_WORK_DEFAULTS: Mapping[str, str] = {
    "connect_timeout": "2",
    "read_timeout": "5",
    "max_attempts": "1",
}
"""Timeout options (by the names casman's own backends declare) for automatic work."""


def open_storage(
    config: Config,
    backend_name: str | None = None,
    purpose: str = "",
    environ: Mapping[str, str] | None = None,
    *,
    automatic: bool = False,
) -> Storage:
    """A ready :class:`Storage` for the configured (or named) backend.

    The factory is given only the resolved options; ``quota`` from the backend's config
    section is added to the handle's settings for the quota wrapper. ``automatic`` work
    (backups nobody is waiting for) gets :data:`AUTOMATIC_WORK_DEFAULTS` for the timeout
    options a backend declares, unless the user set them: a dead link must cost it seconds.
    """
    env = os.environ if environ is None else environ
    name = backend_name or config.sync.backend
    spec = get_backend_spec(name)
    section = config.section(name)
    if name == "s3" and not section and config.section("r2"):
        # the old spec configured S3 through `r2:` ("same config section works for S3")
        raise BackendConfigError(
            "backend s3 reads its settings from an `s3:` section (bucket, region, endpoint, "
            "access_key_id, secret_access_key) or CASMAN_S3_*/AWS_* variables, not from "
            "`r2:`; move them to `s3:` in config.yaml"
        )
    options = resolve_options(spec, section, env)
    if automatic:
        options = _automatic_defaults(spec, section, env, options)
    try:
        impl = spec.factory(options)
    except ModuleNotFoundError as error:
        raise BackendConfigError(
            f"backend {name} cannot start: module {error.name} is missing; "
            f"reinstall the plugin that provides it"
        ) from None
    settings: dict[str, Any] = dict(options)
    if section.get("quota") is not None:
        settings["quota"] = section["quota"]
    # a backend whose abilities depend on its settings declares them on itself
    spec = replace(spec, capabilities=declared_capabilities(impl, spec))
    handle = BackendHandle(
        name=name, spec=spec, impl=impl, settings=settings, state_dir=config.database_dir
    )
    handle.calls  # noqa: B018 - refuses, before any request, a backend casman cannot call
    log.info("backend %s opened with %s", name, describe_settings(spec, options))
    attempts = 1 if automatic else DEFAULT_ATTEMPTS
    hook = plugin_manager_for("casman_register_backends", "casman_storage_op").hook
    return Storage(handle, hook, purpose=purpose, attempts=attempts)


def _automatic_defaults(
    spec: BackendSpec,
    section: Mapping[str, Any],
    environ: Mapping[str, str],
    options: dict[str, Any],
) -> dict[str, Any]:
    shortened = dict(options)
    for option in spec.options:
        if option.name not in AUTOMATIC_WORK_DEFAULTS:
            continue
        set_by_user = (option.env and present(environ.get(option.env))) or present(
            section.get(option.name)
        )
        if not set_by_user:
            shortened[option.name] = AUTOMATIC_WORK_DEFAULTS[option.name]
    return shortened
