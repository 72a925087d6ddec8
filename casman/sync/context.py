"""Everything one sync command works with: configuration, storage, state, clock."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from casman import __version__
from casman.config import Config
from casman.domain.timestamps import utc_now
from casman.fileio import temp_path_beside
from casman.storage.operations import Storage
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

    @contextmanager
    def temp_file(self, db_name: str, suffix: str) -> Iterator[Path]:
        """A temp file in the database directory, removed afterwards whatever happens."""
        self.database_dir.mkdir(parents=True, exist_ok=True)
        path = temp_path_beside(self.db_path(db_name), suffix)
        path.unlink()  # sqlite's backup API and downloads create it themselves
        try:
            yield path
        finally:
            remove_quietly(path)

    def record_event(self, event: Literal["backup", "restore"]) -> None:
        """Monthly backup/restore counters of the quota tracker, where one is kept."""
        from casman.storage import quota

        limits, _ = quota.limits_for(self.storage.handle)
        if limits:
            quota.record_event(self.storage.handle, event)


def host_name() -> str:
    return socket.gethostname() or "unknown"


def casman_version() -> str:
    return __version__
