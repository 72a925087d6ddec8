"""Configuration: config.yaml overlaid with the environment.

Precedence for the file: ``--config`` > ``CASMAN_CONFIG`` > ``./config.yaml`` >
``$XDG_CONFIG_HOME/casman/config.yaml`` (``~/.config/casman/config.yaml`` when
``XDG_CONFIG_HOME`` is unset, as the XDG base directory specification says). PyYAML is
imported only when a file exists, which keeps the everyday commands fast. Loading returns
a :class:`Config` or raises :class:`ConfigError` with one line naming the file, the key
and what is expected; it never prints. Problems that must not stop a command (unknown
keys) are returned in ``Config.warnings`` for the CLI to print.

``${VAR}`` in string values is expanded from the environment so secrets can stay out of
the file. A variable that is unset *or empty* counts as not set, and then:

* under ``database:`` (``dir`` and every ``sync`` setting) any reference to it is an
  error: ``dir: ${DATA}/casman`` must not quietly become ``/casman``;
* elsewhere (backend sections such as ``r2:``, ``grid:``...) a value that is exactly
  ``${VAR}`` is "not set" (None), so the spec's sample ``r2: {account_id: ${R2_ACCOUNT_ID}}``
  loads at a site using another backend, and r2 itself reports "needs R2_ACCOUNT_ID" when
  used; ``${VAR}`` inside a longer value (``https://${HOST}/``) is an error at load time.

Only ``${NAME}`` is recognised (no ``$NAME``, defaults or escapes), in values, not keys,
and the expansion is not re-expanded.

Values are type-checked after expansion (see :mod:`casman.config_schema`): booleans accept
YAML booleans and true/false/yes/no/on/off/1/0 in any case, numbers must be finite and in
range. The file is refused unread beyond 1 MiB, and YAML aliases, duplicate keys and deep
nesting are refused, so a hostile or mistaken file fails fast instead of hanging.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casman.config_schema import (
    SYNC_SETTINGS,
    ConfigError,
    convert,
    show_key,
    show_value,
    text_to_bool,
    unknown_keys,
)

if TYPE_CHECKING:
    import yaml

__all__ = [
    "Config",
    "ConfigError",
    "SyncSettings",
    "expand_env",
    "find_config_file",
    "load_config",
    "parse_bool",
]

MAX_CONFIG_BYTES = 1 << 20
MAX_NESTING = 64
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_STRICT_SECTIONS = frozenset({"database"})


DISABLED_BACKEND = "disabled"
"""``backend: disabled`` (the spec's spelling) turns sync off like ``enabled: false``."""


@dataclass(frozen=True)
class SyncSettings:
    enabled: bool = True
    backend: str = "local"
    keep_versions: int = 10
    backup_on_scan_count: int = 10
    backup_on_hours: float = 24.0
    auto_backup: bool = True
    stale_after_hours: float = 48.0
    outbox_max_entries: int = 20
    safety_copies: int = 5
    # Read by casman.open_array() (the Python API), never by the CLI: a consumer's copy of
    # the databases follows the backend (fast-forward only) once it is older than the TTL.
    auto_sync_on_import: bool = False
    cache_ttl_seconds: int = 3600


@dataclass(frozen=True)
class Config:
    database_dir: Path
    sync: SyncSettings = field(default_factory=SyncSettings)
    sections: Mapping[str, Any] = field(default_factory=dict)
    source: Path | None = None
    # Printed once by the CLI on stderr; the engine never prints.
    warnings: tuple[str, ...] = ()
    # Where database_dir came from, said by `casman config path` and when databases are
    # created, so a user never wonders which copy a command used.
    database_dir_source: str = "default"

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level mapping such as ``r2:`` or ``grid:`` (empty when absent)."""
        value = self.sections.get(name) or {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"config section {name!r} in {self.source} must be a mapping")
        return value


def _is_set(name: str, environ: Mapping[str, str]) -> bool:
    return bool(environ.get(name))


def _expand_text(text: str, environ: Mapping[str, str], key: str, strict: bool, where: str) -> Any:
    missing = [name for name in _ENV_REFERENCE.findall(text) if not _is_set(name, environ)]
    if missing:
        name = missing[0]
        if strict:
            raise ConfigError(
                f"{key} in {where} uses ${{{name}}}, which is not set; set {name} or edit {where}"
            )
        if _ENV_REFERENCE.fullmatch(text):
            return None
        raise ConfigError(
            f"{key} in {where} uses ${{{name}}} inside a longer value and {name} is not set; "
            f"set {name}, or make the value exactly ${{{name}}} if it is optional"
        )
    return _ENV_REFERENCE.sub(lambda match: environ[match.group(1)], text)


def expand_env(
    value: Any,
    environ: Mapping[str, str],
    key: str = "",
    *,
    strict: bool = False,
    source: Path | None = None,
) -> Any:
    """Replace ``${VAR}`` in every string of a parsed YAML tree, by the module's rule.

    ``key`` is the dotted path of ``value`` (empty for the whole file); the subtree under
    ``database`` is expanded strictly whatever ``strict`` says.
    """
    where = str(source) if source is not None else "config.yaml"
    if isinstance(value, str):
        return _expand_text(value, environ, key or "value", strict, where)
    if isinstance(value, dict):
        expanded = {}
        for name, item in value.items():
            child = f"{key}.{show_key(name)}" if key else show_key(name)
            child_strict = strict or (not key and name in _STRICT_SECTIONS)
            expanded[name] = expand_env(item, environ, child, strict=child_strict, source=source)
        return expanded
    if isinstance(value, list):
        return [
            expand_env(item, environ, f"{key}[{index}]", strict=strict, source=source)
            for index, item in enumerate(value)
        ]
    return value


def find_config_file(explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    """The file to read by precedence, None when there is none (defaults apply)."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist; fix --config or CASMAN_CONFIG")
        return path
    from_env = environ.get("CASMAN_CONFIG")
    if from_env:
        return find_config_file(from_env, {})
    for candidate in (Path("config.yaml"), user_config_file(environ)):
        if candidate.is_file():
            return candidate
    return None


def user_config_file(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/casman/config.yaml``, ``~/.config/casman/config.yaml`` when unset.

    A relative ``XDG_CONFIG_HOME`` is ignored, as the XDG specification requires.
    """
    base = environ.get("XDG_CONFIG_HOME", "").strip()
    if not base or not Path(base).is_absolute():
        base = str(Path(environ.get("HOME") or Path.home()) / ".config")
    return Path(base) / "casman" / "config.yaml"


class _Refused(Exception):
    """A YAML construct casman refuses, raised inside the loader with its line."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        line = getattr(mark, "line", None)  # a yaml Mark, pure-Python or libyaml's
        self.line = line + 1 if isinstance(line, int) else None


def _loader(text: str) -> yaml.SafeLoader:
    """A SafeLoader that refuses aliases, duplicate keys and deep nesting.

    casman's configuration never needs aliases, and refusing them is the simplest sure
    defence against alias bombs ("billion laughs"), which expand exponentially in memory.
    Duplicate keys are refused because YAML would silently keep only the last one.
    """
    import yaml

    class ConfigLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
            event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.AliasEvent):
                raise _Refused(
                    f"uses the alias *{event.anchor}; casman's configuration "
                    "does not support YAML anchors and aliases, write the value out",
                    event.start_mark,
                )
            self.depth += 1
            try:
                if self.depth > MAX_NESTING:
                    raise _Refused(f"nests deeper than {MAX_NESTING} levels", event.start_mark)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # unhashable: the base class reports it
                if duplicate:
                    raise _Refused(
                        f"repeats the key {show_key(key)}; YAML keeps only the last, so keep one",
                        key_node.start_mark,
                    )
            return super().construct_mapping(node, deep=deep)

    return ConfigLoader(text)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"config file {path} is larger than 1 MiB; a casman configuration is a few lines"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None

    import yaml

    loader = _loader(text)
    try:
        data = loader.get_single_data()
    except _Refused as refused:
        where = f" line {refused.line}" if refused.line is not None else ""
        raise ConfigError(f"config file {path}{where} {refused}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None)
        detail = f": {problem}" if problem else ""
        raise ConfigError(f"config file {path}{where} is not valid YAML{detail}") from None
    except (ValueError, OverflowError, RecursionError) as error:
        # e.g. an integer of more than 4300 digits, or a timestamp out of range.
        reason = str(error).split(":")[0]  # not the Python-level advice that may follow
        raise ConfigError(
            f"config file {path} holds a value casman cannot read: {reason}"
        ) from None
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def parse_bool(text: str, name: str) -> bool:
    """An environment variable's boolean (true/false/yes/no/on/off/1/0, any case)."""
    value = text_to_bool(text)
    if value is None:
        raise ConfigError(f"{name}={text!r} is not a boolean; use true or false")
    return value


def _mapping(value: Any, key: str, where: str) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} in {where} must be a mapping of settings")
    return value


def _sync_settings(raw: Mapping[Any, Any], environ: Mapping[str, str], where: str) -> SyncSettings:
    """Every ``database.sync`` setting converted; absent ones keep SyncSettings' defaults."""
    values: dict[str, Any] = {}
    for name, setting in SYNC_SETTINGS.items():
        if raw.get(name) is not None:
            values[name] = convert(setting, raw[name], f"database.sync.{name}", where)
    if environ.get("CASMAN_SYNC_ENABLED"):
        values["enabled"] = parse_bool(environ["CASMAN_SYNC_ENABLED"], "CASMAN_SYNC_ENABLED")
    backend = environ.get("CASMAN_SYNC_BACKEND", "").strip()
    if backend:
        values["backend"] = backend
    if environ.get("CASMAN_AUTO_BACKUP", "").strip():
        values["auto_backup"] = parse_bool(environ["CASMAN_AUTO_BACKUP"], "CASMAN_AUTO_BACKUP")
    if values.get("backend") == DISABLED_BACKEND:
        values["enabled"] = False  # the spec's spelling of "sync off"
    known = {item.name for item in dataclasses.fields(SyncSettings)}
    return dataclasses.replace(
        SyncSettings(), **{name: value for name, value in values.items() if name in known}
    )


LEGACY_DATABASE_DIR = Path("database")
"""``./database``: where casman 0.1 kept the databases (the current directory's)."""


def user_data_dir(environ: Mapping[str, str]) -> Path:
    """The per-user data directory of casman, by the platform's convention.

    Linux and other POSIX systems: ``$XDG_DATA_HOME/casman`` (``~/.local/share/casman``);
    macOS: ``~/Library/Application Support/casman``; Windows: ``%LOCALAPPDATA%\\casman``.
    """
    home = Path(environ.get("HOME") or Path.home())
    if sys.platform == "win32":
        base = environ.get("LOCALAPPDATA")
        return (Path(base) if base else home / "AppData" / "Local") / "casman"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "casman"
    xdg = environ.get("XDG_DATA_HOME", "").strip()
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share") / "casman"


def choose_database_dir(
    explicit: str | None,
    environ: Mapping[str, str],
    configured: str | None,
    source: Path | None,
) -> tuple[Path, str]:
    """The database directory and where the choice came from, never a guess.

    ``--database-dir`` > ``CASMAN_DATABASE_DIR`` > ``database.dir`` in config.yaml > an
    existing ``./database`` holding casman databases (casman 0.1's place, kept working and
    named) > the per-user data directory.
    """
    if explicit:
        return Path(explicit).expanduser(), "--database-dir"
    if environ.get("CASMAN_DATABASE_DIR"):
        return Path(environ["CASMAN_DATABASE_DIR"]).expanduser(), "CASMAN_DATABASE_DIR"
    if configured:
        return Path(configured).expanduser(), f"database.dir in {source}"
    if (LEGACY_DATABASE_DIR / "parts.db").is_file():
        return LEGACY_DATABASE_DIR, "./database in the current directory"
    return user_data_dir(environ) / "database", "the per-user data directory"


def load_config(
    explicit: str | None = None,
    environ: Mapping[str, str] | None = None,
    database_dir: str | None = None,
) -> Config:
    """Read the configuration once per command (``database_dir``: ``--database-dir``)."""
    env = os.environ if environ is None else environ
    path = find_config_file(explicit, env)
    data = expand_env(_read_yaml(path), env, source=path) if path is not None else {}
    where = str(path)
    database = _mapping(data.get("database"), "database", where)
    sync = _sync_settings(_mapping(database.get("sync"), "database.sync", where), env, where)
    directory = database.get("dir")
    if directory is not None and not isinstance(directory, str):
        raise ConfigError(
            f"database.dir in {where} must be a directory path, got {show_value(directory)}; "
            "quote it"
        )
    chosen, chosen_from = choose_database_dir(database_dir, env, directory, path)
    warnings = unknown_keys(data, where, sync.backend) if path is not None else []
    from casman.config_habits import habit_warnings, without_generic

    warnings = without_generic(warnings, data) + habit_warnings(
        data,
        env,
        backend=sync.backend,
        enabled=sync.enabled,
        source=path,
        database_dir=chosen,
        chosen_from=chosen_from,
        data_dir=user_data_dir(env),
    )
    return Config(
        database_dir=chosen,
        sync=sync,
        sections=data,
        source=path,
        warnings=tuple(warnings),
        database_dir_source=chosen_from,
    )
