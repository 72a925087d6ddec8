"""Open a registered backend the way casman does, for a plugin's own tests.

A plugin's tests need the same path from settings to a ready store that ``casman sync``
takes (options resolved from the environment and a config section, the factory, the
instance's declared capabilities, every call through the real hook with its wrappers),
without importing casman's private modules. These helpers are that path, and only that.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from casman.storage import Backend, BackendHandle, BackendSpec, Storage


def backend_spec(name: str) -> BackendSpec:
    """The spec a loaded plugin registered as ``name`` (UnknownBackendError if none)."""
    from casman.storage.registry import get_backend_spec

    return get_backend_spec(name)


def resolved_options(
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    section: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Each option of backend ``name`` as casman resolves it: environment > section > default.

    ``environ`` replaces the process environment entirely (default: empty), so a test is
    never influenced by the developer's own variables.
    """
    from casman.storage.options import resolve_options

    return resolve_options(backend_spec(name), section or {}, environ or {})


def make_backend(
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    section: Mapping[str, Any] | None = None,
) -> Backend:
    """The backend the factory of ``name`` builds from these settings (no Storage around it)."""
    return backend_spec(name).factory(resolved_options(name, environ=environ, section=section))


def open_backend(
    name: str,
    state_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    section: Mapping[str, Any] | None = None,
    automatic: bool = False,
) -> Storage:
    """A :class:`~casman.storage.Storage` on backend ``name`` exactly as ``casman sync`` opens it.

    ``state_dir`` plays the database directory (where a quota tracker would live);
    ``section`` is the backend's section of config.yaml; ``automatic`` gives the short
    timeouts of automatic backups.
    """
    from casman.config import Config
    from casman.storage.opening import open_storage

    config = Config(database_dir=state_dir, sections={name: dict(section or {})})
    return open_storage(config, name, environ=dict(environ or {}), automatic=automatic)


def storage_for(
    backend: Backend,
    state_dir: Path,
    *,
    spec: BackendSpec | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Storage:
    """A Storage around an instance built by the test itself, through the real hook.

    Without ``spec`` the backend runs under a throwaway spec named ``under-test`` with the
    capabilities the instance declares (``backend.capabilities``) or the defaults.
    """
    from casman.plugins import get_plugin_manager
    from casman.storage.backend import Capabilities, declared_capabilities

    if spec is None:
        spec = BackendSpec(
            name="under-test",
            factory=lambda _settings: backend,
            description="backend under test",
            capabilities=Capabilities(),
        )
    spec = dataclasses.replace(spec, capabilities=declared_capabilities(backend, spec))
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = BackendHandle(
        name=spec.name, spec=spec, impl=backend, settings=dict(settings or {}), state_dir=state_dir
    )
    return Storage(handle, get_plugin_manager().hook, purpose="test")


def get_backend_spec(name: str) -> BackendSpec:
    """Alias of :func:`backend_spec` under the host's own name."""
    return backend_spec(name)


def resolve_options(
    spec: BackendSpec, section: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    """Each option of ``spec`` resolved as casman does (environment > section > default)."""
    from casman.storage import options

    return options.resolve_options(spec, section, environ)


def describe_settings(spec: BackendSpec, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as casman prints them (``sync status``): secrets and URL passwords masked."""
    from casman.storage import options

    return options.describe_settings(spec, settings)


def mask_url_credentials(text: str) -> str:
    """``text`` with the password of any URL in it masked, as casman shows URLs."""
    from casman.storage import options

    return options.mask_url_credentials(text)


def get_plugin_manager() -> Any:
    """The process-wide plugin manager (to register a throwaway plugin in a test)."""
    from casman import plugins

    return plugins.get_plugin_manager()
