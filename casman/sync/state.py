"""What was last synced, per backend and database, kept in the database directory.

``sync`` needs it to tell "the remote moved on" from "I changed something locally": a
local database whose checksum still equals the last synced one has no unsynced changes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from casman.fileio import atomic_write_bytes

STATE_FILE = ".casman_sync_state.json"


@dataclass(frozen=True)
class SyncedVersion:
    """The stored version the local database was last equal to.

    ``sha256`` identifies the stored object's bytes; ``fingerprint`` the rows the local
    database held at that moment (None in state written by casman 0.1, which compared
    snapshot checksums instead).
    """

    sha256: str
    key: str
    synced_at: str
    operation: str
    fingerprint: str | None = None


class SyncState:
    def __init__(self, database_dir: Path) -> None:
        self.path = database_dir / STATE_FILE
        self._lock = FileLock(str(database_dir / (STATE_FILE + ".lock")), timeout=60)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, OSError):
            return {"version": 1, "backends": {}}
        if not isinstance(data, dict) or not isinstance(data.get("backends"), dict):
            return {"version": 1, "backends": {}}
        return data

    def get(self, backend: str, db_name: str) -> SyncedVersion | None:
        entry = self._read()["backends"].get(backend, {}).get(db_name)
        if not isinstance(entry, dict):
            return None
        try:
            return SyncedVersion(**entry)
        except TypeError:
            return None

    def record(self, backend: str, db_name: str, version: SyncedVersion) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            data = self._read()
            data["backends"].setdefault(backend, {})[db_name] = asdict(version)
            atomic_write_bytes(self.path, json.dumps(data, indent=2).encode("utf-8"))

    def record_conflicts(self, backend: str, db_name: str, conflicts: list[dict[str, str]]) -> None:
        """The conflicts the store's versions carry, as of the last sync (for offline views)."""
        current = self._read().get("conflicts")
        if isinstance(current, dict) and current.get(backend, {}).get(db_name, []) == conflicts:
            return  # unchanged: a no-op sync writes nothing
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            data = self._read()
            stored = data.setdefault("conflicts", {})
            if not isinstance(stored, dict):
                stored = data["conflicts"] = {}
            stored.setdefault(backend, {})[db_name] = conflicts
            atomic_write_bytes(self.path, json.dumps(data, indent=2).encode("utf-8"))

    def conflicts(self) -> list[dict[str, str]]:
        """Every recorded conflict, all backends and databases, each once."""
        stored = self._read().get("conflicts")
        found: dict[tuple[str, ...], dict[str, str]] = {}
        if not isinstance(stored, dict):
            return []
        for per_db in stored.values():
            if not isinstance(per_db, dict):
                continue
            for items in per_db.values():
                for item in items if isinstance(items, list) else []:
                    if isinstance(item, dict) and all(isinstance(v, str) for v in item.values()):
                        key = tuple(item.get(k, "") for k in ("kind", "key", "version", "other"))
                        found.setdefault(key, item)
        return list(found.values())
