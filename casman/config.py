"""Configuration: config.yaml overlaid with the environment.

Precedence for the file: ``--config`` > ``CASMAN_CONFIG`` > ``./config.yaml`` >
``~/.config/casman/config.yaml``. ``${VAR}`` in string values is expanded from the
environment so secrets can stay out of the file. PyYAML is imported only when a file
exists, which keeps the everyday commands fast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casman.errors import CasmanError

DEFAULT_DATABASE_DIR = "./database"
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(CasmanError):
    """The configuration file or an environment variable is malformed."""


@dataclass(frozen=True)
class SyncSettings:
    enabled: bool = True
    backend: str = "local"
    keep_versions: int = 10
    backup_on_scan_count: int = 10
    backup_on_hours: float = 24.0
    auto_backup: bool = False


@dataclass(frozen=True)
class Config:
    database_dir: Path
    sync: SyncSettings = field(default_factory=SyncSettings)
    sections: Mapping[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level mapping such as ``r2:`` or ``grid:`` (empty when absent)."""
        value = self.sections.get(name) or {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"config section {name!r} in {self.source} must be a mapping")
        return value


def expand_env(value: Any, environ: Mapping[str, str]) -> Any:
    """Replace ``${VAR}`` in every string of a parsed YAML tree (unset → empty string)."""
    if isinstance(value, str):
        return _ENV_REFERENCE.sub(lambda m: environ.get(m.group(1), ""), value)
    if isinstance(value, dict):
        return {key: expand_env(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_env(item, environ) for item in value]
    return value


def find_config_file(explicit: str | None, environ: Mapping[str, str]) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist; fix --config or CASMAN_CONFIG")
        return path
    from_env = environ.get("CASMAN_CONFIG")
    if from_env:
        return find_config_file(from_env, {})
    for candidate in (Path("config.yaml"), Path.home() / ".config" / "casman" / "config.yaml"):
        if candidate.is_file():
            return candidate
    return None


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path}{where} is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def parse_bool(text: str, name: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name}={text!r} is not a boolean; use true or false")


def _number(value: Any, name: str, kind: type[int] | type[float]) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative, got {value!r}")
    return number


def _sync_settings(raw: Mapping[str, Any], environ: Mapping[str, str]) -> SyncSettings:
    enabled_raw = environ.get("CASMAN_SYNC_ENABLED", raw.get("enabled", True))
    enabled = (
        parse_bool(enabled_raw, "CASMAN_SYNC_ENABLED")
        if isinstance(enabled_raw, str)
        else bool(enabled_raw)
    )
    backend = str(environ.get("CASMAN_SYNC_BACKEND") or raw.get("backend") or "local").strip()
    keep = _number(raw.get("keep_versions", 10), "database.sync.keep_versions", int)
    if keep < 1:
        raise ConfigError("database.sync.keep_versions must be at least 1")
    return SyncSettings(
        enabled=enabled,
        backend=backend,
        keep_versions=keep,
        backup_on_scan_count=_number(
            raw.get("backup_on_scan_count", 10), "database.sync.backup_on_scan_count", int
        ),
        backup_on_hours=_number(
            raw.get("backup_on_hours", 24.0), "database.sync.backup_on_hours", float
        ),
        auto_backup=bool(raw.get("auto_backup", False)),
    )


def load_config(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read the configuration once per command."""
    env = os.environ if environ is None else environ
    path = find_config_file(explicit, env)
    data = expand_env(_read_yaml(path), env) if path is not None else {}
    database = data.get("database") or {}
    if not isinstance(database, Mapping):
        raise ConfigError(f"'database' in {path} must be a mapping")
    sync_raw = database.get("sync") or {}
    if not isinstance(sync_raw, Mapping):
        raise ConfigError(f"'database.sync' in {path} must be a mapping")
    directory = env.get("CASMAN_DATABASE_DIR") or database.get("dir") or DEFAULT_DATABASE_DIR
    return Config(
        database_dir=Path(str(directory)).expanduser(),
        sync=_sync_settings(sync_raw, env),
        sections=data,
        source=path,
    )
