"""A real SFTP server on 127.0.0.1 for tests (asyncssh, in a thread; no system daemon).

Use it from a plugin's ``conftest.py``::

    from casman.testing.sftp import sftp_server  # noqa: F401

The server serves one temporary directory (chrooted) to one user with a password. Its
``rename`` behaves as OpenSSH's ``sftp-server`` does: a hard link then an unlink, so
renaming onto an existing name fails (asyncssh's default checks, then renames), and
``posix-rename@openssh.com`` replaces atomically. asyncssh is imported inside the fixture,
so importing this module costs nothing for tests that never use it.

Stopping it leaves nothing behind: the listener is closed, every client connection the
server accepted is closed and awaited (their SFTP session tasks end with them), whatever
task is still pending is cancelled and awaited, and the event loop is closed in its own
thread. A loop merely stopped keeps the sessions of clients that never disconnected (a
cached fsspec filesystem) as pending tasks, which asyncio reports one by one ("Task was
destroyed but it is pending!") when the process exits.
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


def _server_classes(password: str, connections: set[Any]) -> tuple[Any, Any]:
    """The server classes; every accepted connection is kept in ``connections`` until lost."""
    import asyncssh

    class Server(asyncssh.SSHServer):
        def __init__(self) -> None:
            self._connection: Any = None

        def connection_made(self, conn: Any) -> None:
            self._connection = conn
            connections.add(conn)

        def connection_lost(self, exc: Exception | None) -> None:
            connections.discard(self._connection)

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
    connections: set[Any]


STOP_TIMEOUT_SECONDS = 60.0
"""How long stopping may wait for the server's connections and tasks to end: generous,
since it only matters when something is stuck, and a busy machine is slow."""


def start_sftp_server(root: Path) -> tuple[SFTPServerInfo, _Running]:
    """Start a server serving ``root``; stop it with :func:`stop_sftp_server`."""
    import asyncssh

    password = secrets.token_urlsafe(16)
    connections: set[Any] = set()
    server_class, sftp_class = _server_classes(password, connections)
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

        try:
            loop.run_until_complete(listen())
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name="sftp-test-server", daemon=True)
    thread.start()
    if not ready.wait(timeout=STOP_TIMEOUT_SECONDS):
        raise RuntimeError("the SFTP test server did not start (see the thread's traceback)")
    listener = started["listener"]
    port = listener.sockets[0].getsockname()[1]
    info = SFTPServerInfo("127.0.0.1", port, USERNAME, password, root)
    return info, _Running(loop, thread, listener, connections)


async def _shut_down(running: _Running) -> None:
    """Runs on the server's loop: listener, connections, then any task left, all awaited."""
    running.listener.close()
    await running.listener.wait_closed()
    open_connections = list(running.connections)
    for conn in open_connections:
        conn.close()
    for conn in open_connections:
        await conn.wait_closed()
    left = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)


def stop_sftp_server(running: _Running) -> None:
    """Stop the server and close its loop; raises if it does not stop (nothing may leak)."""
    done = asyncio.run_coroutine_threadsafe(_shut_down(running), running.loop)
    try:
        done.result(timeout=STOP_TIMEOUT_SECONDS)
    finally:
        running.loop.call_soon_threadsafe(running.loop.stop)
        running.thread.join(timeout=STOP_TIMEOUT_SECONDS)
    if running.thread.is_alive():
        raise RuntimeError("the SFTP test server's thread did not end")


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SFTPServerInfo]:
    """An SFTP server on 127.0.0.1 for the whole session; give each test its own folder."""
    root = tmp_path_factory.mktemp("sftp-root")
    info, running = start_sftp_server(root)
    try:
        yield info
    finally:
        stop_sftp_server(running)
