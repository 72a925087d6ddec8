"""The one PluginManager: casman's built-in plugins and the entry-point plugins, loaded alike.

Built-ins are listed in :data:`BUILTIN_PLUGINS` as ``module:attribute`` targets, exactly
what an entry point's value is, and loaded by the same code as a third-party plugin (a
class is instantiated, a module registered as it is). Two differences only: a built-in
that fails to load is an error, never a silently missing quota; and a built-in declares
the hooks it implements, so it is imported when one of those hooks is first needed. A
one-shot write fires ``casman_after_change`` and nothing else, so it never imports the
storage wrappers (quota, tracing); ``casman plugins`` loads everything.

Third-party plugins are found through the entry-point group ``casman`` and loaded one by one
in ``try`` blocks: a broken plugin is recorded and shown by ``casman plugins`` instead of
breaking every command. ``CASMAN_LOAD_PLUGINS=a,b`` limits which entry points load.

Registration order is always the built-ins (in list order) and then the entry points (in
load order), whichever hook was needed first: pluggy calls wrappers registered later
outside those registered earlier, so the order is part of the behaviour. This module
imports nothing of casman's engine (the targets are names), so every layer may use it.
"""

from __future__ import annotations

import importlib.metadata
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pluggy

from casman import __version__, hookspecs

if TYPE_CHECKING:
    from pathlib import Path

    from casman.config import Config
    from casman.db.changes import Change

ENTRY_POINT_GROUP = "casman"
LOAD_PLUGINS_ENV = "CASMAN_LOAD_PLUGINS"
_REASON_LIMIT = 200


@dataclass(frozen=True)
class BuiltinPlugin:
    """One of casman's own plugins: registered as ``name``, loaded from ``target``
    (``module:attribute``, as an entry point's value), implementing ``hooks``."""

    name: str
    target: str
    hooks: tuple[str, ...]


BUILTIN_PLUGINS: tuple[BuiltinPlugin, ...] = (
    BuiltinPlugin(
        "casman.storage.operations",
        "casman.storage.operations:CoreStorageOpPlugin",
        ("casman_storage_op",),
    ),
    BuiltinPlugin(
        "casman.storage.put_limit",
        "casman.storage.put_limit:PutLimitPlugin",
        ("casman_storage_op",),
    ),
    BuiltinPlugin(
        "casman.storage.quota", "casman.storage.quota:QuotaPlugin", ("casman_storage_op",)
    ),
    BuiltinPlugin(
        "casman.storage.tracing", "casman.storage.tracing:TracingPlugin", ("casman_storage_op",)
    ),
    BuiltinPlugin(
        "casman.sync.auto", "casman.sync.auto:AutoBackupPlugin", ("casman_after_change",)
    ),
)
"""casman's own plugins, in registration order."""

BUILTIN_PLUGIN_NAMES: tuple[str, ...] = tuple(plugin.name for plugin in BUILTIN_PLUGINS)


@dataclass(frozen=True)
class PluginOrigin:
    """Where a plugin came from, or why it is not loaded (``error``)."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool = False
    error: str | None = None


@dataclass(frozen=True)
class HookImplementation:
    """One implementation of a hook, as ``casman plugins`` lists it."""

    hook: str
    plugin: str
    wrapper: bool
    tryfirst: bool
    trylast: bool


@dataclass
class _State:
    pm: pluggy.PluginManager
    origins: dict[str, PluginOrigin] = field(default_factory=dict)
    failures: list[PluginOrigin] = field(default_factory=list)
    entry_points_loaded: bool = False


_state: _State | None = None
_lock = threading.RLock()


def one_line(error: BaseException) -> str:
    """``Type: first line of the message``, short enough for a table cell."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    reason = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 1] + "…"


def allowed_names(environ: Mapping[str, str]) -> set[str] | None:
    """Entry-point names named by CASMAN_LOAD_PLUGINS; None when it is unset (load all)."""
    raw = environ.get(LOAD_PLUGINS_ENV)
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _instantiate(entry_point: importlib.metadata.EntryPoint) -> object:
    loaded = entry_point.load()
    return loaded() if isinstance(loaded, type) else loaded


def _implemented_hooks(pm: pluggy.PluginManager, plugin: object) -> set[str]:
    return {caller.name for caller in pm.get_hookcallers(plugin) or ()}


def _register_builtin(state: _State, builtin: BuiltinPlugin) -> None:
    """Load a built-in as an entry point is loaded; any failure is raised, never recorded."""
    entry_point = importlib.metadata.EntryPoint(builtin.name, builtin.target, ENTRY_POINT_GROUP)
    plugin = _instantiate(entry_point)
    state.pm.register(plugin, name=builtin.name)
    implemented = _implemented_hooks(state.pm, plugin)
    if implemented != set(builtin.hooks):
        state.pm.unregister(name=builtin.name)
        raise RuntimeError(
            f"built-in plugin {builtin.name} implements {sorted(implemented)} but is listed "
            f"with {sorted(builtin.hooks)} in casman.plugins.BUILTIN_PLUGINS"
        )
    state.origins[builtin.name] = PluginOrigin(builtin.name, "casman", __version__, builtin=True)


def _distribution(entry_point: importlib.metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version


def _load_entry_point(state: _State, entry_point: importlib.metadata.EntryPoint) -> None:
    """Load and register one third-party plugin; any failure is recorded, never raised."""
    distribution, version = _distribution(entry_point)
    name = entry_point.name
    try:
        state.pm.register(_instantiate(entry_point), name=name)
    except (Exception, SystemExit) as error:  # a plugin calling sys.exit() must not end casman
        state.failures.append(PluginOrigin(name, distribution, version, error=one_line(error)))
        return
    try:
        state.pm.check_pending()  # a hookimpl for a hook casman does not have
    except Exception as error:
        state.pm.unregister(name=name)
        state.failures.append(PluginOrigin(name, distribution, version, error=one_line(error)))
        return
    state.origins[name] = PluginOrigin(name, distribution, version)


def _load_entry_points(state: _State, environ: Mapping[str, str]) -> None:
    allowed = allowed_names(environ)
    found: set[str] = set()
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.add(entry_point.name)
        if allowed is not None and entry_point.name not in allowed:
            continue
        _load_entry_point(state, entry_point)
    for missing in sorted((allowed or set()) - found):
        state.failures.append(
            PluginOrigin(missing, None, None, error=f"not installed (named in {LOAD_PLUGINS_ENV})")
        )
    state.entry_points_loaded = True


def _ensure(state: _State, hooks: Iterable[str] | None) -> None:
    """Register the built-ins implementing ``hooks`` (all when None), then the entry points.

    A built-in needed after other plugins were registered is put before them: they are
    unregistered and registered again in their order, so the call order of wrappers never
    depends on which hook a process happened to need first.
    """
    wanted = None if hooks is None else set(hooks)
    missing = [
        builtin
        for builtin in BUILTIN_PLUGINS
        if builtin.name not in state.origins
        and (wanted is None or wanted.intersection(builtin.hooks))
    ]
    if missing:
        later = [
            (name, plugin)
            for name, plugin in state.pm.list_name_plugin()
            if name not in BUILTIN_PLUGIN_NAMES and plugin is not None
        ]
        for name, _ in later:
            state.pm.unregister(name=name)
        try:
            for builtin in missing:
                _register_builtin(state, builtin)
        finally:
            for name, plugin in later:
                state.pm.register(plugin, name=name)
    if not state.entry_points_loaded:
        _load_entry_points(state, os.environ)


def _get_state(hooks: Iterable[str] | None) -> _State:
    global _state
    with _lock:
        if _state is None:
            pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
            pm.add_hookspecs(hookspecs)
            _state = _State(pm)
        _ensure(_state, hooks)
        return _state


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide PluginManager with every plugin loaded (created on first use)."""
    return _get_state(None).pm


def plugin_manager_for(*hooks: str) -> pluggy.PluginManager:
    """The same manager, with at least what calling ``hooks`` needs: the built-ins that
    implement them and every entry-point plugin (any of which may implement them)."""
    unknown = set(hooks) - set(hookspecs.HOOK_NAMES)
    if unknown:
        raise ValueError(f"casman has no hook {sorted(unknown)[0]}")
    return _get_state(hooks).pm


def reset_plugin_manager() -> None:
    """Forget the manager so the next use reloads plugins (tests change the environment)."""
    global _state
    with _lock:
        _state = None


def loaded_plugins() -> list[PluginOrigin]:
    """Every plugin (all loaded first) in registration order, then those that failed."""
    state = _get_state(None)
    with _lock:
        loaded = [
            state.origins.get(name, PluginOrigin(name, None, None))
            for name, plugin in state.pm.list_name_plugin()
            if plugin is not None
        ]
        return loaded + list(state.failures)


def hook_implementations() -> list[HookImplementation]:
    """Every implementation of every hook (all plugins loaded), each hook's in call order."""
    pm = get_plugin_manager()
    found: list[HookImplementation] = []
    for hook in hookspecs.HOOK_NAMES:
        caller = getattr(pm.hook, hook)
        # pluggy calls the last of get_hookimpls() first (tryfirst ones, then wrappers…)
        for impl in reversed(caller.get_hookimpls()):
            found.append(
                HookImplementation(
                    hook=hook,
                    plugin=impl.plugin_name,
                    wrapper=bool(impl.wrapper or impl.hookwrapper),
                    tryfirst=bool(impl.tryfirst),
                    trylast=bool(impl.trylast),
                )
            )
    return found


def fire_after_change(config: Config, database_dir: Path, change: Change) -> None:
    """Call ``casman_after_change`` (the program that writes subscribes this to
    :mod:`casman.db.changes`); loads only what that hook needs."""
    pm = plugin_manager_for("casman_after_change")
    pm.hook.casman_after_change(config=config, database_dir=database_dir, change=change)
