"""The CASM array as a Python library: a read-only API for pipelines.

::

    import casman

    array = casman.open_array()
    print(array.by_packet_index(5))    # ANT00001 at CN002E03, P1, SNAP1A port 5 (...)
    antenna = array.at("CN002E03")
    antenna.p2.packet_index, antenna.kernel_index, antenna.coordinates

Everything here reads; nothing writes to the databases. :func:`open_array` opens both
files with SQLite's ``mode=ro``, reads one consistent snapshot and closes them again, so
the answers (frozen values: :class:`Antenna`, :class:`Port`, :class:`SignalChain`,
:class:`Board`) all describe the same moment and no lock is held while a pipeline runs.
Importing it needs neither click, nor Flask, nor boto3.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from casman.array.export import packet_map_csv, packet_map_json, packet_map_rows
from casman.array.follow import (
    AUTO_SYNC_ENV,
    CasmanSyncWarning,
    FollowReport,
    auto_sync_enabled,
    consumer_cache_dir,
    follow_backend,
    has_local_copy,
)
from casman.array.reader import Array, ArrayLookupError, read_array
from casman.array.values import (
    PACKET_MAP_COLUMNS,
    Antenna,
    Board,
    Coordinates,
    Port,
    SignalChain,
)
from casman.config import Config, load_config
from casman.db.connection import DatabaseFileError
from casman.domain.kernel import KernelIndex, KernelIndexError, kernel_from_config
from casman.domain.timestamps import utc_now

__all__ = [
    "AUTO_SYNC_ENV",
    "PACKET_MAP_COLUMNS",
    "Antenna",
    "Array",
    "ArrayLookupError",
    "Board",
    "CasmanSyncWarning",
    "Coordinates",
    "FollowReport",
    "KernelIndex",
    "KernelIndexError",
    "Port",
    "SignalChain",
    "consumer_cache_dir",
    "open_array",
    "packet_map_csv",
    "packet_map_json",
    "packet_map_rows",
]


def _has_own_directory(config: Config, environ: Mapping[str, str]) -> bool:
    """Whether this process names a database directory (env, config.yaml, ./database).

    Only a process without one uses the consumer cache: a site's own databases are never
    swapped for a cache behind its back.
    """
    if environ.get("CASMAN_DATABASE_DIR"):
        return True
    database = config.sections.get("database")
    if isinstance(database, Mapping) and database.get("dir"):
        return True
    return config.database_dir.is_dir()


def _no_copy_error(directory: Path, report: FollowReport) -> DatabaseFileError:
    if report.error is not None:
        why = f"the backend could not be reached ({report.error})"
    else:
        why = "the store has no published version of them to follow yet"
    return DatabaseFileError(f"no local copy of the casman databases in {directory} yet: {why}")


def open_array(
    database_dir: str | os.PathLike[str] | None = None,
    *,
    config: Config | str | os.PathLike[str] | None = None,
    auto_sync: bool | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Array:
    """Open the array read-only and return an :class:`Array` snapshot.

    ``database_dir``: the directory holding ``parts.db`` and ``assembled_casm.db``.
    Without it, the CLI's choice applies (``CASMAN_DATABASE_DIR``, ``database.dir`` in
    config.yaml, an existing ``./database``); a process with none of these that follows
    the backend keeps its copy in :func:`consumer_cache_dir`.

    ``config``: a loaded :class:`casman.config.Config` or the path of a config.yaml
    (default: the usual search, ``CASMAN_CONFIG`` first).

    ``auto_sync``: follow the backend before reading (see :mod:`casman.array.follow`);
    None means ``CASMAN_AUTO_SYNC_ON_INSTALL`` or ``database.sync.auto_sync_on_import``.
    Following fetches the newest published version when the local copy is older than
    ``database.sync.cache_ttl_seconds``, fast-forward only; it never fails this call
    (it warns once with :class:`CasmanSyncWarning` and reads the local copy), unless
    there is no local copy at all.

    ``clock``: returns the current time (an aware datetime) that the TTL is measured
    with; the system clock by default. A replay or a test passes its own, so that
    "within the TTL" never depends on how fast the machine happens to be.

    Raises :class:`casman.db.connection.DatabaseFileError` (a
    :class:`casman.errors.CasmanError`) when the directory holds no readable casman
    databases, and :class:`casman.config.ConfigError` for a malformed configuration. No
    file is ever created, except by following the backend.
    """
    environ = os.environ
    settings = (
        config
        if isinstance(config, Config)
        else load_config(os.fspath(config) if config is not None else None, environ)
    )
    following = auto_sync_enabled(settings, environ) if auto_sync is None else auto_sync
    following = following and settings.sync.enabled
    if database_dir is not None:
        directory = Path(database_dir).expanduser()
    elif following and not _has_own_directory(settings, environ):
        directory = consumer_cache_dir(environ)
    else:
        directory = settings.database_dir
    kernel = kernel_from_config(settings.section("grid"))
    now = utc_now if clock is None else clock
    report = follow_backend(settings, directory, clock=now) if following else None
    if report is not None and not has_local_copy(directory):
        raise _no_copy_error(directory, report)
    return read_array(directory, kernel, sync=report)
