"""Answers from several processes reach the quota tracker in any order; none loses an object.

Found in a CI run of 16 parallel ``casman sync backup`` processes: the tracker lacked a
backup that was stored. One process lost the race to publish and deleted its upload; the
name was free again and another process uploaded under it; the deleting process's answer
was recorded last and erased the other process's upload. The same holds for a listing
taken before an upload and applied after it.

Real processes (``tests/quota_race_process.py``), the real local backend and the real
quota wrapper; the test only decides when the slow answer arrives, by a file it creates.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from casman_local.backend import LocalBackend

from casman.storage import quota
from casman.storage.operations import BackendHandle
from casman.storage.plugins import get_backend_spec
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow  # separate processes

KEY = "backups/parts.db/20261205_171057_parts.db"
WAIT_SECONDS = 120.0


class Folders:
    def __init__(self, base: Path) -> None:
        self.store = base / "store"
        self.state = base / "state"
        self.signals = base / "signals"
        for folder in (self.state, self.signals):
            folder.mkdir()

    def start(self, action: str, key: str = KEY, size: int = 0) -> subprocess.Popen[str]:
        arguments = [str(self.store), str(self.state), key, str(size), str(self.signals)]
        return subprocess.Popen(
            [sys.executable, "-m", "tests.quota_race_process", action, *arguments],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, action: str, key: str = KEY, size: int = 0) -> None:
        finished(self.start(action, key, size))

    def handle(self) -> BackendHandle:
        backend = LocalBackend(self.store)
        spec = get_backend_spec("local")
        return BackendHandle("local", spec, backend, {"quota": {"storage_gb": 10}}, self.state)

    def stored(self) -> dict[str, int]:
        page = self.handle().impl.list_page("backups/", None, 1000)
        return {info.key: info.size for info in page.objects}


def finished(process: subprocess.Popen[str]) -> None:
    _out, err = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 0, err


def wait_until(path: Path, process: subprocess.Popen[str]) -> None:
    """Return as soon as ``process`` has created ``path`` (a generous deadline, no timing)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"the process ended before {path.name}: {process.communicate()[1]}")
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.01)


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    return Folders(tmp_path)


def test_a_delete_answered_late_keeps_another_process_upload_of_the_same_key(
    folders: Folders,
) -> None:
    folders.run("put", size=100)  # process A's first upload, which it then deletes
    deleting = folders.start("delete")
    wait_until(folders.signals / "answered", deleting)  # the store has deleted it
    folders.run("put", size=300)  # process B takes the free name: stored, recorded
    (folders.signals / "go").touch()  # A's answer arrives after B's
    finished(deleting)

    assert folders.stored() == {KEY: 300}
    used = quota.usage(folders.handle())
    assert used.storage_bytes == 300, "the tracker must count what the store holds"


def test_a_delete_answered_in_order_frees_the_storage(folders: Folders) -> None:
    """The other order still frees it: the upload was recorded before the delete began."""
    folders.run("put", size=100)
    deleting = folders.start("delete")
    wait_until(folders.signals / "answered", deleting)
    (folders.signals / "go").touch()
    finished(deleting)
    assert folders.stored() == {}
    assert quota.usage(folders.handle()).storage_bytes == 0


def test_a_listing_applied_late_keeps_an_upload_made_after_it(folders: Folders) -> None:
    folders.run("put", key="backups/old", size=10)
    reconciling = folders.start("reconcile", key="backups/")
    wait_until(folders.signals / "listed", reconciling)  # the listing has only backups/old
    folders.run("put", key="backups/new", size=200)
    folders.run("put", key="backups/old", size=20)  # replaced after the listing, too
    (folders.signals / "go").touch()
    finished(reconciling)

    assert folders.stored() == {"backups/old": 20, "backups/new": 200}
    assert quota.usage(folders.handle()).storage_bytes == 220


def test_a_listing_removes_what_was_deleted_elsewhere(folders: Folders) -> None:
    """What another machine deleted (the tracker never saw it) is dropped by the listing."""
    folders.run("put", key="backups/a", size=10)
    folders.run("put", key="backups/b", size=30)
    LocalBackend(folders.store).delete("backups/a")  # another machine, another tracker
    (folders.signals / "go").touch()  # nothing to wait for here
    folders.run("reconcile", key="backups/")
    assert quota.usage(folders.handle()).storage_bytes == 30
