"""A real SFTP server on 127.0.0.1 for tests (asyncssh, in a thread; no system daemon).

Use it from a plugin's ``conftest.py``::

    from casman.testing.sftp import sftp_server  # noqa: F401

The server serves one temporary directory (chrooted) to one user with a password. Its
``rename`` behaves as OpenSSH's ``sftp-server`` does: a hard link then an unlink, so
renaming onto an existing name fails (asyncssh's default checks, then renames), and
``posix-rename@openssh.com`` replaces atomically. asyncssh is imported inside the fixture,
so importing this module costs nothing for tests that never use it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

USERNAME = "casman-test"


@dataclass(frozen=True)
class SFTPServerInfo:
    """Where the test server listens and who may log in; ``root`` is what it serves."""

    host: str
    port: int
    username: str
    password: str
    root: Path

    def url(self, path: str) -> str:
        """``sftp://user@host:port/path`` (the password goes in the options, not the URL)."""
        return f"sftp://{self.username}@{self.host}:{self.port}/{path.lstrip('/')}"

    def options(self) -> dict[str, Any]:
        """fsspec/paramiko options that log in with the password and touch no real keys."""
        return {"password": self.password, "look_for_keys": False, "allow_agent": False}


def _server_classes(password: str) -> tuple[Any, Any]:
    import asyncssh

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, given: str) -> bool:
            return username == USERNAME and secrets.compare_digest(given, password)

    class OpenSSHLikeSFTP(asyncssh.SFTPServer):
        """``rename`` is create-only and atomic (link + unlink), as OpenSSH's is."""

        def rename(self, oldpath: bytes, newpath: bytes) -> None:
            old = self.map_path(oldpath).decode()
            new = self.map_path(newpath).decode()
            os.link(old, new)  # FileExistsError becomes SSH_FX_FAILURE for the client
            os.unlink(old)

        def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
            os.replace(self.map_path(oldpath).decode(), self.map_path(newpath).decode())

    return Server, OpenSSHLikeSFTP


@dataclass
class _Running:
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    listener: Any


def start_sftp_server(root: Path) -> tuple[SFTPServerInfo, _Running]:
    """Start a server serving ``root``; stop it with :func:`stop_sftp_server`."""
    import asyncssh

    password = secrets.token_urlsafe(16)
    server_class, sftp_class = _server_classes(password)
    key = asyncssh.generate_private_key("ssh-ed25519")
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def listen() -> None:
            started["listener"] = await asyncssh.listen(
                "127.0.0.1",
                0,
                server_host_keys=[key],
                server_factory=server_class,
                sftp_factory=lambda channel: sftp_class(channel, chroot=os.fsencode(root)),
                allow_scp=False,
            )
            ready.set()

        loop.run_until_complete(listen())
        loop.run_forever()

    thread = threading.Thread(target=run, name="sftp-test-server", daemon=True)
    thread.start()
    if not ready.wait(timeout=30):
        raise RuntimeError("the SFTP test server did not start within 30 s")
    listener = started["listener"]
    port = listener.sockets[0].getsockname()[1]
    info = SFTPServerInfo("127.0.0.1", port, USERNAME, password, root)
    return info, _Running(loop, thread, listener)


def stop_sftp_server(running: _Running) -> None:
    def close() -> None:
        running.listener.close()
        running.loop.stop()

    running.loop.call_soon_threadsafe(close)
    running.thread.join(timeout=10)


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SFTPServerInfo]:
    """An SFTP server on 127.0.0.1 for the whole session; give each test its own folder."""
    root = tmp_path_factory.mktemp("sftp-root")
    info, running = start_sftp_server(root)
    try:
        yield info
    finally:
        stop_sftp_server(running)
