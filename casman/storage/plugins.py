"""The one PluginManager: built-in plugins, entry-point plugins and the backend registry.

Everything that needs a plugin goes through :func:`get_plugin_manager`, which is created on
first use so that commands which never touch storage (``casman parts list``) never import a
plugin. Third-party plugins are loaded one by one in ``try`` blocks: a broken plugin is
recorded and shown by ``casman plugins`` instead of breaking every command.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pluggy

from casman import __version__
from casman.config import Config
from casman.storage import hookspecs
from casman.storage.backend import BackendSpec, declared_capabilities
from casman.storage.errors import BackendConfigError, ObjectTooLargeError, UnknownBackendError
from casman.storage.hookspecs import hookimpl
from casman.storage.operations import DEFAULT_ATTEMPTS, BackendHandle, Storage, StorageOp

ENTRY_POINT_GROUP = "casman"
LOAD_PLUGINS_ENV = "CASMAN_LOAD_PLUGINS"
BUILTIN_PLUGIN_NAMES = (
    "casman.storage.operations",
    "casman.storage.plugins.put_limit",
    "casman.storage.quota",
    "casman.storage.tracing",
)
"""The names casman's own plugins are registered under, in registration order."""
# fsspec-style install hints for the backends casman's own project publishes.
KNOWN_BACKENDS: Mapping[str, str] = {
    "local": "casman-local",
    "s3": "casman-s3",
    "r2": "casman-r2",
    "fsspec": "casman-fsspec",
}
_SECRET_WORDS = ("secret", "password", "token", "credential")
_REASON_LIMIT = 200


log = logging.getLogger("casman.storage")


@dataclass(frozen=True)
class PluginInfo:
    """One line of ``casman plugins``: a loaded plugin or one that failed to load.

    ``problems`` are non-fatal (a backend name already taken); ``error`` means the plugin
    is not active at all.
    """

    name: str
    distribution: str | None
    version: str | None
    backends: tuple[str, ...] = ()
    error: str | None = None
    problems: tuple[str, ...] = ()
    builtin: bool = False


@dataclass
class _Origin:
    """Where a registered plugin came from (the PluginManager only knows its name)."""

    distribution: str | None
    version: str | None
    builtin: bool


@dataclass
class _Registry:
    """Backends collected from the plugins currently registered."""

    specs: dict[str, BackendSpec] = field(default_factory=dict)
    owner: dict[str, str] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class _State:
    pm: pluggy.PluginManager
    origins: dict[str, _Origin] = field(default_factory=dict)
    failures: list[PluginInfo] = field(default_factory=list)
    registry_key: tuple[tuple[str, int], ...] | None = None
    registry: _Registry = field(default_factory=_Registry)


_state: _State | None = None
_lock = threading.RLock()


def one_line(error: BaseException) -> str:
    """``Type: first line of the message``, short enough for a table cell."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    reason = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 1] + "…"


def _allowed_names(environ: Mapping[str, str]) -> set[str] | None:
    """Entry-point names named by CASMAN_LOAD_PLUGINS; None when it is unset (load all)."""
    raw = environ.get(LOAD_PLUGINS_ENV)
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


class PutLimitPlugin:
    """Built-in plugin: a put larger than the backend's ``max_single_put_bytes`` is refused.

    The outermost wrapper (``tryfirst``), so the refusal comes before the quota reserves
    anything, before the trace and before the backend: nothing is counted or sent, and
    the error says so (``request_sent=False``). The limit is the one the handle's spec
    declares, which :func:`open_storage` took from the instance when it declares its own.
    """

    @hookimpl(wrapper=True, tryfirst=True)
    def casman_storage_op(
        self, backend: BackendHandle, op: StorageOp
    ) -> Generator[None, object, object]:
        if op.kind == "put" and op.body is not None:
            limit = backend.spec.capabilities.max_single_put_bytes
            if len(op.body) > limit:
                raise ObjectTooLargeError(
                    f"{op.key} is {len(op.body):,} bytes, more than the {limit:,} backend "
                    f"{backend.name} accepts in one upload; nothing was sent",
                    request_sent=False,
                )
        return (yield)


def _builtin_plugins() -> list[tuple[str, object]]:
    """casman's own plugins, imported by name: a missing one is an ImportError, not silence.

    Imported here rather than at module level so that importing this module stays cheap
    (the quota package is loaded when the manager is first built).
    """
    from casman.storage.operations import CoreStorageOpPlugin
    from casman.storage.quota import QuotaPlugin
    from casman.storage.tracing import TracingPlugin

    plugins: list[object] = [
        CoreStorageOpPlugin(),
        PutLimitPlugin(),
        QuotaPlugin(),
        TracingPlugin(),
    ]
    return list(zip(BUILTIN_PLUGIN_NAMES, plugins, strict=True))


def _register_builtins(state: _State) -> None:
    for name, plugin in _builtin_plugins():
        state.pm.register(plugin, name=name)
        state.origins[name] = _Origin("casman", __version__, builtin=True)


def _distribution(entry_point: importlib.metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(entry_point, "dist", None)
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version


def _load_entry_point(state: _State, entry_point: importlib.metadata.EntryPoint) -> None:
    """Load and register one plugin; any failure is recorded, never raised."""
    distribution, version = _distribution(entry_point)
    try:
        loaded = entry_point.load()
        plugin = loaded() if isinstance(loaded, type) else loaded
        state.pm.register(plugin, name=entry_point.name)
    except (Exception, SystemExit) as error:  # a plugin calling sys.exit() must not end casman
        state.failures.append(
            PluginInfo(entry_point.name, distribution, version, error=one_line(error))
        )
        return
    try:
        state.pm.check_pending()  # a hookimpl for a hook casman does not have
    except Exception as error:
        state.pm.unregister(name=entry_point.name)
        state.failures.append(
            PluginInfo(entry_point.name, distribution, version, error=one_line(error))
        )
        return
    state.origins[entry_point.name] = _Origin(distribution, version, builtin=False)


def _load_entry_points(state: _State, environ: Mapping[str, str]) -> None:
    allowed = _allowed_names(environ)
    found: set[str] = set()
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.add(entry_point.name)
        if allowed is not None and entry_point.name not in allowed:
            continue
        _load_entry_point(state, entry_point)
    for missing in sorted((allowed or set()) - found):
        state.failures.append(
            PluginInfo(missing, None, None, error=f"not installed (named in {LOAD_PLUGINS_ENV})")
        )


def _create(environ: Mapping[str, str]) -> _State:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    state = _State(pm)
    _register_builtins(state)
    _load_entry_points(state, environ)
    return state


def _get_state() -> _State:
    global _state
    with _lock:
        if _state is None:
            _state = _create(os.environ)
        return _state


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide PluginManager, created (and plugins loaded) on first use."""
    return _get_state().pm


def reset_plugin_manager() -> None:
    """Forget the manager so the next use reloads plugins (tests change the environment)."""
    global _state
    with _lock:
        _state = None


def _collect(pm: pluggy.PluginManager) -> _Registry:
    """Ask each plugin in turn for its backends so each spec is traced to its plugin.

    Calling the hook once per plugin (through a subset caller) also isolates a plugin whose
    hook raises: it is recorded as failed and the others still register.
    """
    registry = _Registry()
    plugins = list(pm.list_name_plugin())
    for name, plugin in plugins:
        if plugin is None:
            continue
        others = [other for _, other in plugins if other is not plugin and other is not None]
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
            registry.specs[spec.name] = spec
            registry.owner[spec.name] = _plugin

        try:
            caller(register=register)
        except Exception as error:
            registry.errors[name] = one_line(error)
    return registry


def _registry() -> _Registry:
    state = _get_state()
    with _lock:
        key = tuple(sorted((name, id(plugin)) for name, plugin in state.pm.list_name_plugin()))
        if key != state.registry_key:
            state.registry = _collect(state.pm)
            state.registry_key = key
        return state.registry


def backend_specs() -> dict[str, BackendSpec]:
    """Every backend registered by a loaded plugin, by name."""
    return dict(_registry().specs)


def backend_owner(name: str) -> str | None:
    """The plugin that registered backend ``name``."""
    return _registry().owner.get(name)


def plugin_report() -> list[PluginInfo]:
    """What ``casman plugins`` shows: loaded plugins first, then those that failed."""
    state = _get_state()
    registry = _registry()
    report: list[PluginInfo] = []
    for name, _plugin in state.pm.list_name_plugin():
        origin = state.origins.get(name, _Origin(None, None, builtin=False))
        report.append(
            PluginInfo(
                name=name,
                distribution=origin.distribution,
                version=origin.version,
                backends=tuple(b for b, owner in registry.owner.items() if owner == name),
                error=registry.errors.get(name),
                problems=tuple(registry.problems.get(name, ())),
                builtin=origin.builtin,
            )
        )
    return report + list(state.failures)


def get_backend_spec(name: str) -> BackendSpec:
    """The spec for ``name``, or UnknownBackendError saying how to get it."""
    specs = backend_specs()
    if name in specs:
        return specs[name]
    available = ", ".join(sorted(specs)) or "none"
    failed = [info for info in plugin_report() if info.error and info.name == name]
    if failed:
        raise UnknownBackendError(
            f"backend {name!r} is not available: plugin {name} failed to load "
            f"({failed[0].error}); see `casman plugins`"
        )
    if name in KNOWN_BACKENDS:
        hint = f"pip install {KNOWN_BACKENDS[name]} to use backend {name}"
        allowed = _allowed_names(os.environ)
        if allowed is not None:
            hint += f", and check {LOAD_PLUGINS_ENV}"
        raise UnknownBackendError(f"unknown storage backend {name!r}: {hint}")
    raise UnknownBackendError(f"unknown storage backend {name!r}; available backends: {available}")


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def resolve_options(
    spec: BackendSpec, section: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    """Each option's value: environment variable > config section > default.

    Empty strings count as unset because ``${VAR}`` in config.yaml expands to "" when the
    variable is missing, and that must not hide the "needs VAR" message.
    """
    resolved: dict[str, Any] = {}
    for option in spec.options:
        value: Any = None
        if option.env and _present(environ.get(option.env)):
            value = environ[option.env]
        elif _present(section.get(option.name)):
            value = section[option.name]
        elif _present(option.default):
            value = option.default
        if value is None and option.required:
            key = f"{spec.name}.{option.name} in config.yaml"
            needs = f"{option.env} (or {key})" if option.env else key
            raise BackendConfigError(f"backend {spec.name} needs {needs}")
        resolved[option.name] = value
    return resolved


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
    log.info("backend %s opened with %s", name, describe_settings(spec, options))
    attempts = 1 if automatic else DEFAULT_ATTEMPTS
    return Storage(handle, get_plugin_manager().hook, purpose=purpose, attempts=attempts)


AUTOMATIC_WORK_DEFAULTS: Mapping[str, str] = {
    "connect_timeout": "2",
    "read_timeout": "5",
    "max_attempts": "1",
}
"""Timeout options (by the names casman's own backends declare) for automatic work."""


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
        set_by_user = (option.env and _present(environ.get(option.env))) or _present(
            section.get(option.name)
        )
        if not set_by_user:
            shortened[option.name] = AUTOMATIC_WORK_DEFAULTS[option.name]
    return shortened


def mask_secret(value: object) -> str:
    """Enough to recognise which secret is set, never enough to use it.

    Long values keep their first two characters and their length; short ones (which the
    first characters would largely give away) are fully masked.
    """
    if value is None:
        return "(not set)"
    text = str(value)
    if not text:
        return "(empty)"
    if len(text) < 12:
        return "****"
    return f"{text[:2]}…({len(text)} chars)"


def _looks_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


# ``scheme://`` then everything up to the last ``@`` of the same whitespace-free run: a
# password holding ``/`` or ``@`` (which a URL parser would split elsewhere) is masked whole.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)\S*@")
_URL_SECRET_PARAMETER = re.compile(
    r"(?P<name>[?&;][^=&#\s]*(?:secret|password|token|credential|signature|key)[^=&#\s]*=)"
    r"[^&#\s]*",
    re.IGNORECASE,
)


def mask_url_credentials(text: str) -> str:
    """``text`` with the credentials of every URL in it masked: userinfo and secret parameters.

    ``https://user:pw@host/x?token=abc`` → ``https://****@host/x?token=****``. It errs on the
    side of masking: an ``@`` later in a URL's path also masks what precedes it, which only
    shortens what is shown. Text without ``://`` is returned unchanged.
    """
    if "://" not in text:
        return text
    masked = _URL_USERINFO.sub(lambda match: f"{match['scheme']}****@", text)
    return _URL_SECRET_PARAMETER.sub(lambda match: f"{match['name']}****", masked)


def describe_settings(spec: BackendSpec, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings safe to print: secrets masked, and credentials inside any URL masked.

    Options declared secret (or named like one) are masked whole. Any other text value that
    holds a URL has its ``user:password@`` and secret-looking query parameters masked, since
    an endpoint is not a declared secret but may carry one (``https://user:pw@minio``).
    """
    secret = {option.name for option in spec.options if option.secret}
    described: dict[str, Any] = {}
    for name, value in settings.items():
        if name in secret or _looks_secret(name):
            described[name] = mask_secret(value)
        elif isinstance(value, str):
            described[name] = mask_url_credentials(value)
        else:
            described[name] = value
    return described
