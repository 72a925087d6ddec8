"""The settings casman reads from config.yaml: their names, types and ranges.

One table serves two purposes: values are converted and range-checked from it (so a
quoted ``'false'`` or ``.inf`` cannot slip through as something else), and keys that are
not in it are reported with a suggestion (so ``keep_version: 3`` does not silently leave
the default in force). Defaults are *not* here: they live on :class:`casman.config.
SyncSettings` alone, so changing one never needs two edits.

Unknown keys are warnings, not errors, so a config.yaml written for a newer casman still
loads. Backend sections (``r2:``, ``s3:``...) are not checked key by key: their options
belong to the backend's plugin, which is not loaded when the configuration is read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from casman.errors import CasmanError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,30}")


class ConfigError(CasmanError):
    """The configuration file or an environment variable is malformed."""


@dataclass(frozen=True)
class Setting:
    """How one setting is read: its kind and, for numbers, the inclusive range."""

    kind: Literal["bool", "int", "float", "name"]
    minimum: float = 0
    maximum: float = 0

    @property
    def expected(self) -> str:
        """What the error message asks for, e.g. "a whole number from 1 to 10000"."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "name":
            return "a backend name such as local, s3 or r2"
        low, high = _show_number(self.minimum), _show_number(self.maximum)
        if self.kind == "int":
            return f"a whole number from {low} to {high}"
        return f"a number from {low} to {high}"


# database.sync.*: every key the spec documents. auto_sync_on_import and cache_ttl_seconds
# are read by the Python API (casman.open_array) only; the CLI never syncs on its own.
SYNC_SETTINGS: dict[str, Setting] = {
    "enabled": Setting("bool"),
    "backend": Setting("name"),
    "keep_versions": Setting("int", 1, 10_000),
    "backup_on_scan_count": Setting("int", 0, 1_000_000_000),
    # timedelta(hours=...) overflows near 2.4e10; a century is already absurd.
    "backup_on_hours": Setting("float", 0, 1_000_000),
    "auto_backup": Setting("bool"),
    # warn on every command when the newest off-site copy is older than this and
    # local changes exist (0: never)
    "stale_after_hours": Setting("float", 0, 1_000_000),
    "outbox_max_entries": Setting("int", 2, 10_000),
    "safety_copies": Setting("int", 1, 1_000),
    "auto_sync_on_import": Setting("bool"),
    "cache_ttl_seconds": Setting("int", 0, 1_000_000_000),
}
DATABASE_KEYS: tuple[str, ...] = ("dir", "sync")
BACKEND_SECTIONS: tuple[str, ...] = ("r2", "s3", "local", "fsspec", "memory")
SECTIONS: tuple[str, ...] = ("database", "grid", "site", *BACKEND_SECTIONS)


def _show_number(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def show_value(value: object) -> str:
    """A value for an error message: always one line, never pages of digits."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def show_key(key: object) -> str:
    """A key read from the file, safe to print on one line."""
    text = str(key)
    return text if text.isprintable() and len(text) <= 60 else show_value(text)


def text_to_bool(text: str) -> bool | None:
    """true/false/yes/no/on/off/1/0 in any case; None for anything else."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def convert(setting: Setting, value: object, key: str, where: str) -> bool | int | float | str:
    """``value`` (already ``${VAR}``-expanded, not None) as the setting's type, or an error.

    Strings are accepted for every kind because a value that came from ``${VAR}`` is
    always a string; YAML booleans are refused as numbers (``true`` is not 1 version).
    """
    result: bool | int | float | str | None = None
    if setting.kind == "bool":
        if isinstance(value, bool):
            result = value
        elif isinstance(value, int) and value in (0, 1):
            result = bool(value)
        elif isinstance(value, str):
            result = text_to_bool(value)
    elif setting.kind == "name":
        if isinstance(value, str) and value.strip():
            result = value.strip()
    elif setting.kind == "int":
        result = _to_int(value)
        if result is not None and not setting.minimum <= result <= setting.maximum:
            result = None
    else:
        result = _to_float(value)
        if result is not None and not setting.minimum <= result <= setting.maximum:
            result = None
    if result is None:
        raise ConfigError(f"{key} in {where} must be {setting.expected}, got {show_value(value)}")
    return result


def _to_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _to_float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    number: float
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str) and len(value) <= 64:
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _suggest(key: object, known: Iterable[str]) -> str:
    """ "; did you mean X?" for a near miss, else "" (difflib only when needed)."""
    import difflib

    matches = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
    return f"; did you mean {matches[0]}?" if matches else ""


def unknown_keys(data: Mapping[Any, Any], where: str, backend: str) -> list[str]:
    """One warning per key casman does not read, with the closest known key if any.

    The configured backend's name counts as a known section, so a plugin's backend
    (``backend: memory`` with a ``memory:`` section) is not reported.
    """
    warnings: list[str] = []
    sections = (*SECTIONS, backend) if backend not in SECTIONS else SECTIONS
    for key in data:
        if key not in sections:
            hint = _suggest(key, sections) or (
                f" is ignored (casman reads {', '.join(SECTIONS)} and the backend's section)"
            )
            warnings.append(f"unknown section {show_key(key)} in {where}{hint}")
    database = data.get("database")
    if isinstance(database, Mapping):
        warnings += _unknown_in(database, "database", DATABASE_KEYS, where)
        sync = database.get("sync")
        if isinstance(sync, Mapping):
            warnings += _unknown_in(sync, "database.sync", tuple(SYNC_SETTINGS), where)
    return warnings


def _unknown_in(
    mapping: Mapping[Any, Any], prefix: str, known: tuple[str, ...], where: str
) -> list[str]:
    warnings = []
    for key in mapping:
        if key not in known:
            hint = _suggest(key, known) or f" is ignored (known: {', '.join(known)})"
            warnings.append(f"unknown setting {prefix}.{show_key(key)} in {where}{hint}")
    return warnings
