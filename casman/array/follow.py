"""Databases that follow the backend, for consumers of the Python API.

With ``database.sync.auto_sync_on_import: true`` (or ``CASMAN_AUTO_SYNC_ON_INSTALL=true``),
:func:`casman.open_array` first asks the store for the newest published version when the
local copy was last checked more than ``cache_ttl_seconds`` ago (default 3600), and
fast-forwards to it through the normal sync engine
(:func:`casman.sync.engine.converge` with ``publish=False``). That path verifies every
download and installs it in one transaction, and it never touches a database with local
changes: those are left exactly as they are.

Why it never fails the caller: a pipeline on a field laptop must start whether or not the
link is up. Any failure of the check (backend down, quota, a damaged object, a full disk)
is one :class:`CasmanSyncWarning` per directory and process, and the local copy is opened
as it is. Only a consumer with *no* local copy at all gets an error, since there is
nothing to open.

The time of the last check is kept in ``.casman_follow.json`` beside the databases,
written atomically, so the TTL holds across processes; a failed check counts as a check,
so a dead link costs a pipeline one short timeout per TTL, not one per ``open_array()``.
Processes checking at once are serialised by a file lock and the second one finds the
first one's fresh stamp.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from casman.config import Config, parse_bool
from casman.db.schema import DATABASE_NAMES
from casman.domain.timestamps import parse_iso, utc_now
from casman.errors import CasmanError
from casman.fileio import atomic_write_bytes

__all__ = [
    "AUTO_SYNC_ENV",
    "STAMP_FILE",
    "CasmanSyncWarning",
    "FollowReport",
    "auto_sync_enabled",
    "consumer_cache_dir",
    "follow_backend",
]

AUTO_SYNC_ENV = "CASMAN_AUTO_SYNC_ON_INSTALL"
STAMP_FILE = ".casman_follow.json"
LOCK_FILE = ".casman_follow.lock"
LOCK_TIMEOUT_SECONDS = 60.0
log = logging.getLogger("casman.array")

_warned: set[str] = set()


class CasmanSyncWarning(UserWarning):
    """The databases could not follow the backend; the local copy was used as it is."""


@dataclass(frozen=True)
class FollowReport:
    """What the check before opening did (``Array.sync`` carries it).

    ``checked`` is False when the local copy was fresh enough (``last_checked`` says
    since when); ``actions`` names what sync did per database; ``error`` is the one-line
    reason a check failed (the local copy was used).
    """

    directory: Path
    checked: bool
    last_checked: str | None
    actions: Mapping[str, str] = dataclasses.field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def auto_sync_enabled(config: Config, environ: Mapping[str, str]) -> bool:
    """``CASMAN_AUTO_SYNC_ON_INSTALL`` when set, else ``database.sync.auto_sync_on_import``.

    Sync disabled (``database.sync.enabled: false``) wins: no request to any backend.
    """
    wanted = config.sync.auto_sync_on_import
    if environ.get(AUTO_SYNC_ENV, "").strip():
        wanted = parse_bool(environ[AUTO_SYNC_ENV], AUTO_SYNC_ENV)
    return wanted and config.sync.enabled


def consumer_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where a consumer with no database directory of its own keeps its copy.

    ``$XDG_CACHE_HOME/casman/databases`` (``~/.cache/casman/databases``): a cache that
    only the sync engine writes, by fast-forward, and the API reads with ``mode=ro``; no
    casman command records work there unless pointed at it on purpose.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "").strip()
    root = Path(base).expanduser() if base else Path(env.get("HOME") or Path.home()) / ".cache"
    return root / "casman" / "databases"


def has_local_copy(directory: Path) -> bool:
    return all((directory / name).is_file() for name in DATABASE_NAMES)


def _last_checked(directory: Path) -> datetime | None:
    try:
        data = json.loads((directory / STAMP_FILE).read_text(encoding="utf-8"))
        return parse_iso(str(data["checked_at"]))
    except (OSError, ValueError, KeyError, TypeError, CasmanError):
        return None


def to_iso(moment: datetime) -> str:
    """ISO 8601 UTC with ``Z``, to the microsecond: a TTL of one second needs better than
    casman's usual whole seconds."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _write_stamp(directory: Path, when: datetime, report: FollowReport) -> None:
    data = {
        "checked_at": to_iso(when),
        "ok": report.error is None,
        "error": report.error,
        "actions": dict(report.actions),
    }
    atomic_write_bytes(directory / STAMP_FILE, json.dumps(data, indent=2).encode("utf-8"))


def _fresh(last: datetime | None, now: datetime, ttl_seconds: int) -> bool:
    return last is not None and timedelta(0) <= now - last < timedelta(seconds=ttl_seconds)


def _converge(config: Config, directory: Path) -> dict[str, str]:
    """Fetch what the store holds into ``directory`` (never publish)."""
    from casman.sync.engine import converge
    from casman.sync.session import open_session

    local = dataclasses.replace(config, database_dir=directory)
    outcome = converge(open_session(local, purpose="sync", automatic=True), publish=False)
    return {db_name: outcome.summary for db_name in DATABASE_NAMES}


def _warn_once(directory: Path, message: str) -> None:
    key = str(directory.resolve())
    if key in _warned:
        log.info("%s", message)
        return
    _warned.add(key)
    warnings.warn(message, CasmanSyncWarning, stacklevel=4)


def follow_backend(
    config: Config,
    directory: Path,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> FollowReport:
    """Bring ``directory`` up to the store's newest version if its copy is older than the TTL.

    Never raises for a failed check (see the module docstring); the caller opens the
    local copy afterwards, and that open reports a missing copy.
    """
    from filelock import FileLock
    from filelock import Timeout as LockTimeout

    ttl = config.sync.cache_ttl_seconds
    now = clock()
    last = _last_checked(directory)
    if has_local_copy(directory) and _fresh(last, now, ttl):
        return FollowReport(directory, False, to_iso(last) if last else None)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with FileLock(str(directory / LOCK_FILE), timeout=LOCK_TIMEOUT_SECONDS):
            last = _last_checked(directory)
            now = clock()
            if has_local_copy(directory) and _fresh(last, now, ttl):
                return FollowReport(directory, False, to_iso(last) if last else None)
            try:
                actions = _converge(config, directory)
                report = FollowReport(directory, True, to_iso(now), actions)
            except (CasmanError, OSError) as error:
                report = FollowReport(directory, True, to_iso(now), error=_one_line(error))
            _write_stamp(directory, now, report)
    except (LockTimeout, OSError, CasmanError) as error:
        report = FollowReport(directory, True, to_iso(now), error=_one_line(error))
    if report.error is not None:
        _warn_once(
            directory,
            f"casman: could not follow the backend ({report.error}); "
            f"using the local copy in {directory} as it is",
        )
    else:
        log.info("followed the backend in %s: %s", directory, dict(report.actions))
    return report


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())
