"""``casman config``: which settings are in force, where each comes from, and a starter file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from casman.cli.common import get_config, json_option, print_json

# environment variables that override a database.sync setting
_SYNC_ENV = {
    "enabled": "CASMAN_SYNC_ENABLED",
    "backend": "CASMAN_SYNC_BACKEND",
    "auto_backup": "CASMAN_AUTO_BACKUP",
}
TEMPLATE = """\
# casman configuration. Every setting is optional; the values shown are the defaults.
# Environment variables win over this file (named beside each setting); ${VAR} in a value
# is read from the environment. `casman config show` prints what is in force and why.

database:
  # dir: /srv/casman/database     # CASMAN_DATABASE_DIR or --database-dir; default: an
                                  # existing ./database, else the per-user data directory
  sync:
    enabled: true                 # CASMAN_SYNC_ENABLED; false (or backend: disabled) = no
                                  # request to any backend from any command
    backend: local                # CASMAN_SYNC_BACKEND: local, s3, r2, fsspec or a plugin's
    keep_versions: 10             # versions kept per database on the store
    auto_backup: true             # CASMAN_AUTO_BACKUP: back up after `parts add`, every
    backup_on_scan_count: 10      # … N changes
    backup_on_hours: 24.0         # … or H hours with changes
    stale_after_hours: 48         # warn when the newest off-site copy is older (0: never)
    outbox_max_entries: 20        # automatic backups kept while the link is down
    safety_copies: 5              # local safety copies kept per database

# site:
#   name: field                   # recorded in every version this site publishes
#   part_number_start: 50000      # `casman parts add` numbers inside this block …
#   part_number_end: 59999        # … so offline sites never create the same part

local:
  # path: /mnt/nas/casman-backups # CASMAN_LOCAL_PATH; default $XDG_DATA_HOME/casman/store
                                  # (~/.local/share/casman/store)

# r2:
#   account_id: ${R2_ACCOUNT_ID}
#   access_key_id: ${R2_ACCESS_KEY_ID}
#   secret_access_key: ${R2_SECRET_ACCESS_KEY}
#   bucket_name: casman-databases

# s3:
#   bucket: my-bucket             # CASMAN_S3_BUCKET
#   region: us-west-2             # AWS_DEFAULT_REGION
"""


@click.group()
def config() -> None:
    """Show the settings in force and where each comes from; write a config.yaml."""


@config.command("path", short_help="Which config file and databases are used, and why.")
@json_option
def path_(as_json: bool) -> None:
    """Which config file and which database directory commands use, and why."""
    settings = get_config()
    data = {
        "config_file": str(settings.source) if settings.source else None,
        "database_dir": str(settings.database_dir),
        "database_dir_source": settings.database_dir_source,
    }
    if as_json:
        print_json(data)
        return
    if settings.source:
        click.echo(f"config file:   {settings.source}")
    else:
        from casman.config import user_config_file

        click.echo(
            "config file:   none (defaults; looked for --config, CASMAN_CONFIG, "
            f"./config.yaml, {user_config_file(os.environ)})"
        )
    click.echo(f"databases:     {settings.database_dir}  ({settings.database_dir_source})")


def _sync_rows(settings: Any) -> list[tuple[str, object, str]]:
    import dataclasses

    raw = settings.sections.get("database") or {}
    raw_sync = raw.get("sync") if isinstance(raw, Mapping) else None
    raw_sync = raw_sync if isinstance(raw_sync, Mapping) else {}
    rows = []
    for item in dataclasses.fields(settings.sync):
        value = getattr(settings.sync, item.name)
        env = _SYNC_ENV.get(item.name)
        if env and os.environ.get(env):
            source = env
        elif raw_sync.get(item.name) is not None:
            source = f"config file {settings.source}"
        else:
            source = "default"
        rows.append((f"database.sync.{item.name}", value, source))
    return rows


def automatic_backups(settings: Any) -> tuple[bool, str]:
    """Whether automatic backups run, and why, in the words of the setting that decides."""
    sync = settings.sync
    if not sync.enabled:
        return False, "sync is off (database.sync.enabled / CASMAN_SYNC_ENABLED)"
    if not sync.auto_backup:
        where = "CASMAN_AUTO_BACKUP" if os.environ.get("CASMAN_AUTO_BACKUP", "").strip() else None
        return False, f"turned off by {where or 'database.sync.auto_backup'}"
    triggers = ["after `parts add`"]
    if sync.backup_on_scan_count:
        triggers.append(f"every {sync.backup_on_scan_count} changes")
    if sync.backup_on_hours:
        triggers.append(f"{sync.backup_on_hours:g} h after a change")
    return True, f"to {sync.backend}: {', '.join(triggers)}"


def _backend_rows(settings: Any, name: str) -> list[tuple[str, object, str]]:
    from casman.storage.options import describe_settings
    from casman.storage.registry import get_backend_spec

    spec = get_backend_spec(name)
    section = settings.section(name)
    rows = []
    for option in spec.options:
        value: object
        if option.env and os.environ.get(option.env, "").strip():
            value, source = os.environ[option.env], option.env
        elif section.get(option.name) not in (None, ""):
            value, source = section[option.name], f"config file {settings.source}"
        else:
            value, source = option.default, "default"
        shown = describe_settings(spec, {option.name: value})[option.name]
        rows.append((f"{name}.{option.name}", shown, source))
    return rows


@config.command("show", short_help="Every setting in force and where it comes from.")
@json_option
def show(as_json: bool) -> None:
    """Every setting in force with the source of its value (secrets masked)."""
    from casman.errors import CasmanError

    settings = get_config()
    rows: list[tuple[str, object, str]] = [
        ("database.dir", str(settings.database_dir), settings.database_dir_source),
        *_sync_rows(settings),
    ]
    try:
        rows += _backend_rows(settings, settings.sync.backend)
    except CasmanError as error:
        rows.append((f"{settings.sync.backend}.*", None, f"backend not available: {error}"))
    automatic, why = automatic_backups(settings)
    if as_json:
        print_json(
            {
                "config_file": str(settings.source) if settings.source else None,
                "automatic_backups": {"on": automatic, "why": why},
                "settings": [{"key": k, "value": v, "source": s} for k, v, s in rows],
                "warnings": list(settings.warnings),
            }
        )
        return
    click.echo(f"config file: {settings.source or 'none (defaults)'}")
    click.echo(f"automatic backups: {'on' if automatic else 'off'} ({why})")
    width = max(len(key) for key, _, _ in rows)
    for key, value, source in rows:
        shown = "(not set)" if value is None else value
        click.echo(f"  {key:<{width}}  {shown}   [{source}]")


@config.command("init", short_help="Write a commented config.yaml with the defaults.")
@click.option(
    "--path",
    "target",
    type=click.Path(dir_okay=False),
    help="Where to write the file (default: $XDG_CONFIG_HOME/casman/config.yaml, "
    "~/.config when unset).",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
def init(target: str | None, force: bool) -> None:
    """Write a commented config.yaml with every setting and its default."""
    from casman.config import user_config_file
    from casman.userfiles import output_target, write_output

    chosen = Path(target).expanduser() if target else user_config_file(os.environ)
    path = output_target(chosen, force=force, option="--path")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_output(path, TEMPLATE, force=force)
    click.echo(f"Wrote {path}; edit it, then check with `casman config show`")
