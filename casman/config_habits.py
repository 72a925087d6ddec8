"""Pointers for habits from the original CAsMan: one line per setting that moved.

A user of the old tool brings its environment and files along. casman does not read all
of them, and silence would look like obedience: ``R2_*`` exported for the old default
backend while casman's default is ``local`` meant backups that never left the machine.
Each such setting gets one warning line naming what replaces it; the CLI prints the lines
once per command (:attr:`casman.config.Config.warnings`). Nothing here changes a setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

R2_VARIABLES = (
    "R2_ACCOUNT_ID",
    "R2_ACCESS_KEY_ID",
    "R2_SECRET_ACCESS_KEY",
    "R2_BUCKET_NAME",
    "R2_ENDPOINT",
)
DATABASE_PATH_SETTINGS = ("CASMAN_PARTS_DB", "CASMAN_ASSEMBLED_DB")
"""The old tool read each file's path from these (environment or config.yaml's top level)."""
OLD_DATA_FOLDER = "databases"
"""The old tool's per-user folder (``~/.local/share/casman/databases``); casman's is
``…/casman/database``."""
LOCAL_OVERLAY = "config.local.yaml"
JSON_CONFIG = "config.json"
_DIRECTORY_ADVICE = (
    "set CASMAN_DATABASE_DIR (or database.dir) to the folder that holds parts.db and "
    "assembled_casm.db"
)


def _r2_variables(environ: Mapping[str, str], backend: str, enabled: bool) -> list[str]:
    set_ = [name for name in R2_VARIABLES if environ.get(name, "").strip()]
    if not set_ or not enabled or backend == "r2":
        return []
    return [
        f"{', '.join(set_)} {'is' if len(set_) == 1 else 'are'} set but the configured sync "
        f"backend is {backend} (automatic backups and `casman sync` without --backend do not "
        "use R2); set CASMAN_SYNC_BACKEND=r2 (or database.sync.backend: r2), or unset them"
    ]


def _database_paths(data: Mapping[Any, Any], environ: Mapping[str, str]) -> list[str]:
    warnings = []
    for name in DATABASE_PATH_SETTINGS:
        if environ.get(name, "").strip():
            warnings.append(f"{name} is not read by casman; {_DIRECTORY_ADVICE}")
        elif name in data:
            warnings.append(f"{name} in config.yaml is not read by casman; {_DIRECTORY_ADVICE}")
    return warnings


def _other_files(source: Path | None) -> list[str]:
    warnings = []
    folders = {Path.cwd().resolve()} | ({source.resolve().parent} if source else set())
    for folder in sorted(folders):
        overlay = folder / LOCAL_OVERLAY
        if overlay.is_file():
            reading = f"reads only {source}" if source else "reads no config file here"
            warnings.append(
                f"{overlay} is not read: casman {reading}; move its settings into that "
                "file (secrets as ${VAR} references) or point --config / CASMAN_CONFIG at it"
            )
    if source is None and Path(JSON_CONFIG).is_file():
        warnings.append(
            f"{Path(JSON_CONFIG).resolve()} is not read: casman reads config.yaml (the same "
            "keys, in YAML); convert it or point --config at a YAML file"
        )
    return warnings


def _old_data_folder(
    environ: Mapping[str, str], database_dir: Path, chosen_from: str, data_dir: Path
) -> list[str]:
    """The old tool's synced copies sit in ``…/casman/databases``: name them when casman
    is about to use its own, empty default instead (never switch on a guess)."""
    if chosen_from != "the per-user data directory" or (database_dir / "parts.db").exists():
        return []
    old = data_dir / OLD_DATA_FOLDER
    if not (old / "parts.db").is_file():
        return []
    return [
        f"{old} holds the original CAsMan's databases, but casman uses {database_dir}; set "
        f"CASMAN_DATABASE_DIR={old} (or database.dir) to use them"
    ]


def habit_warnings(
    data: Mapping[Any, Any],
    environ: Mapping[str, str],
    *,
    backend: str,
    enabled: bool,
    source: Path | None,
    database_dir: Path,
    chosen_from: str,
    data_dir: Path,
) -> list[str]:
    """One line per old-tool setting in force that casman does not read, naming the
    replacement (``data``: the parsed config.yaml, ``data_dir``: casman's per-user folder)."""
    return [
        *_r2_variables(environ, backend, enabled),
        *_database_paths(data, environ),
        *_other_files(source),
        *_old_data_folder(environ, database_dir, chosen_from, data_dir),
    ]


def without_generic(warnings: list[str], data: Mapping[Any, Any]) -> list[str]:
    """The generic "unknown section" line of a key that has its own pointer, dropped."""
    named = [name for name in DATABASE_PATH_SETTINGS if name in data]
    return [w for w in warnings if not any(w.startswith(f"unknown section {n} ") for n in named)]
