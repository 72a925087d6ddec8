"""Big transfers say what they are doing on a terminal, and nothing through a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

from tests.test_real_processes import _casman_exe


def test_progress_on_a_terminal_only(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASMAN_")}
    env.update(
        CASMAN_DATABASE_DIR=str(tmp_path / "db"),
        CASMAN_LOCAL_PATH=str(tmp_path / "store"),
        CASMAN_AUTO_BACKUP="false",
        HOME=str(tmp_path / "home"),
    )
    for polarization in ("1", "2"):
        for _ in range(3):
            subprocess.run(
                [*_casman_exe(), "parts", "add", "ANTENNA", "10000", polarization],
                env=env,
                check=True,
                capture_output=True,
            )
    piped = subprocess.run(
        [*_casman_exe(), "sync", "backup"], env=env, capture_output=True, text=True
    )
    assert piped.returncode == 0 and "uploading" not in piped.stderr
    # a big checkpoint went through the pipe: the silence is not for want of a transfer
    (line,) = [x for x in piped.stdout.splitlines() if "checkpoint backups/parts.db/" in x]
    assert line.endswith(" MB)"), line
    subprocess.run(
        [*_casman_exe(), "parts", "add", "LNA", "1", "1"], env=env, check=True, capture_output=True
    )
    leader, follower = pty.openpty()
    done = subprocess.run(
        [*_casman_exe(), "sync", "backup"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        timeout=120,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert done.returncode == 0
    assert b"uploading backups/parts.db/" in seen and b"MB" in seen
