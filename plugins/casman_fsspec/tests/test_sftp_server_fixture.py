"""The SFTP test server stops cleanly even with clients still connected.

A client that never disconnects (fsspec caches its filesystems, so their connections live
until the process ends) used to leave its session as a pending asyncio task on a stopped,
never-closed loop; every such task was reported as "Task was destroyed but it is pending!"
when the loop was garbage-collected, 55 lines of noise in one CI run. Stopping the server
now closes those sessions, so nothing is left to report.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import paramiko
import pytest

from casman.testing.sftp import start_sftp_server, stop_sftp_server


@pytest.mark.slow
def test_stopping_leaves_no_pending_task_loop_or_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    info, running = start_sftp_server(tmp_path)
    transports = []
    try:
        for _ in range(3):  # three sessions left open, as cached fsspec filesystems leave them
            transport = paramiko.Transport((info.host, info.port))
            transports.append(transport)
            transport.connect(username=info.username, password=info.password)
            client = paramiko.SFTPClient.from_transport(transport)
            assert client is not None and client.listdir(".") == ["file.txt"]
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            stop_sftp_server(running)
            assert not running.thread.is_alive()
            assert running.loop.is_closed()
            del running
            gc.collect()
    finally:
        for transport in transports:
            transport.close()
    reported = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert reported == []
