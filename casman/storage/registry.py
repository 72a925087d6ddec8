"""The backends the loaded plugins register, traced to the plugin that registered each.

Each plugin is asked in turn (a subset caller of ``casman_register_backends``), so a spec is
known by its plugin and a plugin whose hook raises is recorded as failed while the others
still register. A spec this casman cannot serve (a storage protocol it does not know, a
backend class it cannot call) is refused here, at load, with one line.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import pluggy

from casman.plugins import (
    LOAD_PLUGINS_ENV,
    allowed_names,
    loaded_plugins,
    one_line,
    plugin_manager_for,
)
from casman.storage.backend import BackendSpec
from casman.storage.compat import check_spec
from casman.storage.errors import IncompatibleBackendError, UnknownBackendError

KNOWN_BACKENDS: Mapping[str, str] = {
    "local": "casman-local",
    "s3": "casman-s3",
    "r2": "casman-r2",
    "fsspec": "casman-fsspec",
}
"""Install hints for the backends casman's own project publishes."""


@dataclass(frozen=True)
class PluginInfo:
    """One line of ``casman plugins``: a loaded plugin or one that failed to load.

    ``problems`` are non-fatal (a backend name already taken, a backend refused); ``error``
    means the plugin is not active at all.
    """

    name: str
    distribution: str | None
    version: str | None
    backends: tuple[str, ...] = ()
    error: str | None = None
    problems: tuple[str, ...] = ()
    builtin: bool = False


@dataclass
class _Registry:
    specs: dict[str, BackendSpec] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


_cache: tuple[tuple[object, ...], _Registry] | None = None
_lock = threading.RLock()


def _origin(name: str) -> str:
    for info in loaded_plugins():
        if info.name == name:
            version = f" {info.version}" if info.version else ""
            return f"plugin {name}, {info.distribution or 'unknown distribution'}{version}"
    return f"plugin {name}"


def _collect(pm: pluggy.PluginManager) -> _Registry:
    registry = _Registry()
    plugins = [(name, plugin) for name, plugin in pm.list_name_plugin() if plugin is not None]
    for name, plugin in plugins:
        others = [other for _, other in plugins if other is not plugin]
        caller = pm.subset_hook_caller("casman_register_backends", remove_plugins=others)

        def register(spec: BackendSpec, _plugin: str = name) -> None:
            if not isinstance(spec, BackendSpec):
                raise TypeError(f"register() takes a BackendSpec, got {type(spec).__name__}")
            if spec.name in registry.specs:
                registry.problems.setdefault(_plugin, []).append(
                    f"backend {spec.name!r} is already registered by "
                    f"{registry.owner[spec.name]}; ignored"
                )
                return
            try:
                check_spec(spec, _origin(_plugin))
            except IncompatibleBackendError as refused:
                registry.refused[spec.name] = str(refused)
                registry.problems.setdefault(_plugin, []).append(f"refused: {refused}")
                return
            registry.specs[spec.name] = spec
            registry.owner[spec.name] = _plugin

        try:
            caller(register=register)
        except Exception as error:
            registry.errors[name] = one_line(error)
    return registry


def _registry() -> _Registry:
    global _cache
    pm = plugin_manager_for("casman_register_backends")
    with _lock:
        plugins = sorted((name, id(plugin)) for name, plugin in pm.list_name_plugin())
        key = (id(pm), *plugins)
        if _cache is None or _cache[0] != key:
            _cache = (key, _collect(pm))
        return _cache[1]


def backend_specs() -> dict[str, BackendSpec]:
    """Every backend registered by a loaded plugin, by name."""
    return dict(_registry().specs)


def backend_owner(name: str) -> str | None:
    """The plugin that registered backend ``name``."""
    return _registry().owner.get(name)


def plugin_report() -> list[PluginInfo]:
    """What ``casman plugins`` shows: loaded plugins first, then those that failed."""
    registry = _registry()
    report: list[PluginInfo] = []
    for origin in loaded_plugins():
        if origin.error is not None:
            report.append(
                PluginInfo(origin.name, origin.distribution, origin.version, error=origin.error)
            )
            continue
        report.append(
            PluginInfo(
                name=origin.name,
                distribution=origin.distribution,
                version=origin.version,
                backends=tuple(b for b, owner in registry.owner.items() if owner == origin.name),
                error=registry.errors.get(origin.name),
                problems=tuple(registry.problems.get(origin.name, ())),
                builtin=origin.builtin,
            )
        )
    return report


def get_backend_spec(name: str) -> BackendSpec:
    """The spec for ``name``, or an error saying how to get it (one line)."""
    registry = _registry()
    if name in registry.specs:
        return registry.specs[name]
    if name in registry.refused:
        raise IncompatibleBackendError(registry.refused[name])
    available = ", ".join(sorted(registry.specs)) or "none"
    failed = [info for info in plugin_report() if info.error and info.name == name]
    if failed:
        raise UnknownBackendError(
            f"backend {name!r} is not available: plugin {name} failed to load "
            f"({failed[0].error}); see `casman plugins`"
        )
    if name in KNOWN_BACKENDS:
        hint = f"pip install {KNOWN_BACKENDS[name]} to use backend {name}"
        if allowed_names(os.environ) is not None:
            hint += f", and check {LOAD_PLUGINS_ENV}"
        raise UnknownBackendError(f"unknown storage backend {name!r}: {hint}")
    raise UnknownBackendError(f"unknown storage backend {name!r}; available backends: {available}")
