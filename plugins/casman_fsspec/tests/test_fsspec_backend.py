"""What only the ``fsspec`` backend promises: real conditional writes on SFTP between
separate connections, locks that never outlive a write unnoticed, no network I/O before
the first call, and URLs whose credentials are never shown."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from casman_fsspec import tree
from casman_fsspec.backend import FsspecBackend

from casman.storage import (
    BackendUnavailableError,
    PreconditionFailedError,
    content_md5,
)

from .conftest import SFTPLogin

KEY = "backups/parts.db/HEAD.json"


def _race(attempts: list[Callable[[], None]]) -> list[str]:
    outcomes: list[str] = []
    barrier = threading.Barrier(len(attempts))

    def run(attempt: Callable[[], None]) -> None:
        barrier.wait()
        try:
            attempt()
            outcomes.append("won")
        except PreconditionFailedError:
            outcomes.append("lost")
        except Exception as error:  # recorded, so the assertion shows it
            outcomes.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(outcomes)


def _sftp(login: SFTPLogin, folder: str) -> FsspecBackend:
    return FsspecBackend(login.url(folder), login.options())  # its own SSH connection


def test_sftp_create_only_race_has_one_winner(sftp: SFTPLogin) -> None:
    folder = f"race-{uuid.uuid4().hex[:8]}"
    writers = [_sftp(sftp, folder) for _ in range(4)]

    def attempt(backend: FsspecBackend, index: int) -> Callable[[], None]:
        body = f"writer {index}".encode()
        return lambda: (
            backend.put(KEY, body, metadata={}, content_md5=content_md5(body), if_none_match="*")
            and None
        )

    assert _race([attempt(b, i) for i, b in enumerate(writers)]) == ["lost"] * 3 + ["won"]


def test_sftp_compare_and_swap_race_has_one_winner(sftp: SFTPLogin) -> None:
    folder = f"cas-{uuid.uuid4().hex[:8]}"
    first = _sftp(sftp, folder).put(KEY, b"v0", metadata={}, content_md5=content_md5(b"v0"))
    writers = [_sftp(sftp, folder) for _ in range(4)]

    def attempt(backend: FsspecBackend, index: int) -> Callable[[], None]:
        body = f"writer {index}".encode()
        return lambda: (
            backend.put(KEY, body, metadata={}, content_md5=content_md5(body), if_match=first.etag)
            and None
        )

    assert _race([attempt(b, i) for i, b in enumerate(writers)]) == ["lost"] * 3 + ["won"]
    files = sorted(p.name for p in (sftp.server.root / folder).rglob("*") if p.is_file())
    assert files == ["HEAD.json", "HEAD.json@meta.json"]  # no lock or temp file left


def test_a_lock_left_by_a_dead_writer_is_named_not_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tree, "LOCK_WAIT_SECONDS", 0.3)
    backend = FsspecBackend(f"file://{tmp_path / 'store'}")
    backend.put(KEY, b"v1", metadata={}, content_md5=content_md5(b"v1"))
    lock = tmp_path / "store" / (KEY + "@lock")
    lock.write_text('{"host": "site-a", "pid": 42, "since": 0}')
    with pytest.raises(BackendUnavailableError) as locked:
        backend.put(KEY, b"v2", metadata={}, content_md5=content_md5(b"v2"))
    message = str(locked.value)
    assert "by site-a pid 42 since 1970-01-01 00:00 UTC" in message
    assert f"delete {KEY}@lock there" in message and "\n" not in message
    assert lock.exists() and backend.get(KEY)[0] == b"v1"
    lock.unlink()
    backend.put(KEY, b"v2", metadata={}, content_md5=content_md5(b"v2"))


def test_tidy_removes_metadata_without_an_object(tmp_path: Path) -> None:
    backend = FsspecBackend(f"file://{tmp_path / 'store'}")
    backend.put("backups/a", b"a", metadata={}, content_md5=content_md5(b"a"))
    orphan = tmp_path / "store" / "backups" / "gone@meta.json"
    orphan.write_text('{"format": "casman-local/2", "objects": []}')
    assert backend.tidy("backups/") == [
        "removed metadata without an object: backups/gone@meta.json"
    ]
    assert not orphan.exists() and backend.get("backups/a")[0] == b"a"


def test_the_factory_does_no_network_io_and_masks_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = FsspecBackend(f"sftp://user:hunter2secret@127.0.0.1:{port}/x", {"timeout": 2})
    assert "hunter2secret" not in repr(backend)
    with pytest.raises(BackendUnavailableError) as unreachable:
        backend.head("k")
    assert "hunter2secret" not in str(unreachable.value)
    assert f"127.0.0.1:{port}" in str(unreachable.value)
