"""Everything one sync command works with: configuration, storage, state, clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from casman import __version__
from casman.config import Config
from casman.domain.timestamps import utc_now
from casman.fileio import held_lock, remove_orphan_temp_files, temp_path_beside
from casman.storage.operations import Storage
from casman.sync.install import SIDECARS
from casman.sync.snapshot import remove_quietly
from casman.sync.state import SyncState


@dataclass
class SyncContext:
    config: Config
    storage: Storage
    clock: Callable[[], datetime] = field(default=utc_now)

    @property
    def database_dir(self) -> Path:
        return self.config.database_dir

    @property
    def backend(self) -> str:
        return self.storage.name

    @property
    def state(self) -> SyncState:
        return SyncState(self.database_dir)

    @property
    def keep_versions(self) -> int:
        return self.config.sync.keep_versions

    @property
    def conditional_writes(self) -> bool:
        return self.storage.handle.spec.capabilities.conditional_writes

    def db_path(self, db_name: str) -> Path:
        return self.database_dir / db_name

    @property
    def safety_copies(self) -> int:
        """How many local safety copies of each database are kept."""
        return self.config.sync.safety_copies

    @contextmanager
    def temp_file(self, db_name: str, suffix: str) -> Iterator[Path]:
        """A temp file in the database directory, removed afterwards whatever happens.

        The file is flock-ed while in use, so the temp files of a killed process (which
        hold no lock any more) are recognised and removed by the next one.
        """
        self.database_dir.mkdir(parents=True, exist_ok=True)
        remove_orphan_temp_files(self.database_dir, db_name, suffix)
        path = temp_path_beside(self.db_path(db_name), suffix)
        with held_lock(path):
            try:
                yield path
            finally:
                for extra in ("", *SIDECARS):
                    remove_quietly(path.with_name(path.name + extra))

    def record_event(self, event: Literal["backup", "restore"]) -> None:
        """Monthly backup/restore counters of the quota tracker, where one is kept."""
        from casman.storage import quota

        if self.storage.dry_run:
            return  # a rehearsal: nothing was backed up or restored
        limits, _ = quota.limits_for(self.storage.handle)
        if limits:
            quota.record_event(self.storage.handle, event)


def site_name(config: Config) -> str:
    """This site's name in the versions it publishes (``site: {name: …}``, else the host)."""
    name = config.section("site").get("name")
    return str(name).strip() if name and str(name).strip() else host_name()


def host_name() -> str:
    import socket

    return socket.gethostname() or "unknown"


def casman_version() -> str:
    return __version__
