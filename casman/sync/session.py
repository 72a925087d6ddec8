"""The one place a sync command opens storage: configuration, the storage, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from casman.config import Config
from casman.domain.timestamps import utc_now
from casman.storage.operations import Storage


@dataclass
class Session:
    config: Config
    storage: Storage
    clock: Callable[[], datetime] = field(default=utc_now)

    @property
    def database_dir(self) -> Path:
        return self.config.database_dir

    @property
    def backend(self) -> str:
        return self.storage.name


def open_session(
    config: Config, backend: str | None = None, purpose: str = "", *, automatic: bool = False
) -> Session:
    """A session on the configured (or named) backend; every request passes the hooks."""
    from casman.storage.opening import open_storage

    return Session(config, open_storage(config, backend, purpose=purpose, automatic=automatic))
