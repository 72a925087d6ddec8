"""One casman process sharing a quota tracker, for tests/test_quota_races.py.

Run as ``python -m tests.quota_race_process ACTION STORE STATE KEY SIZE SIGNALS``. Every
process uses the real ``local`` backend on the folder STORE, the real plugin manager
(so the real quota wrapper) and the tracker in STATE. Two actions stop at a chosen moment
and wait for the test, so that the test decides the order in which the answers reach the
tracker instead of hoping for it:

- ``put``: upload SIZE bytes under KEY.
- ``delete``: delete KEY; the store deletes it, then the answer waits until the file
  ``go`` appears in SIGNALS (``answered`` says the store has done it): a slow reply.
- ``reconcile``: take the tracker's mark, list the store, write ``listed``, wait for
  ``go``, then reconcile the tracker with that (by then old) listing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from casman_local.backend import LocalBackend

from casman.storage import quota
from casman.storage.operations import BackendHandle, Storage
from casman.storage.plugins import get_backend_spec, get_plugin_manager

QUOTA = {"quota": {"storage_gb": 10}}
"""A storage limit turns the quota wrapper on for ``local`` (which bills nothing)."""
WAIT_SECONDS = 120.0
"""How long a process waits for the test's signal: only a broken test waits that long."""


def wait_for(path: Path) -> None:
    """Return as soon as ``path`` exists; give up (exit non-zero) after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} never appeared")
        time.sleep(0.01)


class SlowToAnswerDelete(LocalBackend):
    """The real local backend whose delete answers only once the test says so."""

    def __init__(self, root: Path, signals: Path) -> None:
        super().__init__(root)
        self.signals = signals

    def delete(self, key: str) -> None:
        super().delete(key)
        (self.signals / "answered").touch()
        wait_for(self.signals / "go")


def storage(backend: LocalBackend, state: Path) -> Storage:
    handle = BackendHandle("local", get_backend_spec("local"), backend, QUOTA, state)
    return Storage(handle, get_plugin_manager().hook, purpose="backup", attempts=1)


def main(argv: list[str]) -> None:
    action, store, state, key, size, signals = argv
    root, state_dir, signal_dir = Path(store), Path(state), Path(signals)
    if action == "put":
        storage(LocalBackend(root), state_dir).put(key, b"x" * int(size), {})
    elif action == "delete":
        storage(SlowToAnswerDelete(root, signal_dir), state_dir).delete(key)
    elif action == "reconcile":
        store_ = storage(LocalBackend(root), state_dir)
        mark = quota.listing_mark(store_.handle)
        listing = list(store_.list(key))
        (signal_dir / "listed").touch()
        wait_for(signal_dir / "go")
        quota.reconcile_storage(store_.handle, listing, key, mark)
    else:
        raise SystemExit(f"unknown action {action!r}; use put, delete or reconcile")


if __name__ == "__main__":
    main(sys.argv[1:])
