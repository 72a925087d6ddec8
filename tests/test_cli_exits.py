"""Exit codes and stderr as shells and scripts expect them, through real processes: Ctrl-C
(a real SIGINT), a pipe whose reader left, "n" at a confirmation on a real terminal, and
how much casman says with -q, -v and -vv."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Casman, fingerprint
from tests.test_real_processes import _casman_exe

WAIT_SECONDS = 60.0


def _read_until(fd: int, marker: bytes, process: subprocess.Popen[bytes]) -> bytes:
    """Read ``fd`` until ``marker`` shows (the process is then waiting for us)."""
    seen = b""
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], WAIT_SECONDS)
        assert ready, f"no {marker!r} from casman; got {seen!r}"
        chunk = os.read(fd, 4096)
        assert chunk, f"casman ended (code {process.poll()}) before {marker!r}: {seen!r}"
        seen += chunk
    return seen


def _on_a_terminal(*args: str) -> tuple[subprocess.Popen[bytes], int]:
    """``casman ARGS`` with a pseudo-terminal as stdin (as a technician's shell gives it),
    stderr a pipe; returns the process and the terminal's controlling end."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*_casman_exe(), *args],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    os.close(terminal)
    return process, controller


@pytest.mark.slow
def test_ctrl_c_exits_130_with_one_line_and_no_traceback(casman: Casman) -> None:
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    process, controller = _on_a_terminal("scan", "connection")
    try:
        assert process.stderr is not None
        _read_until(process.stderr.fileno(), b"source> ", process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=WAIT_SECONDS)
    finally:
        os.close(controller)
    assert process.returncode == 130
    text = stderr.decode()
    assert text.strip().splitlines()[-1] == "Interrupted."
    assert "Traceback" not in text and "Error" not in text


@pytest.mark.slow
def test_a_pipe_closed_by_its_reader_ends_quietly_with_0(casman: Casman) -> None:
    """``casman parts list | head -1``: far more than a pipe buffer of output, so casman is
    still writing when head leaves."""
    casman.ok("parts", "add", "ANTENNA", "5000", "1")
    command = " ".join(_casman_exe()) + " parts list | head -1"
    done = subprocess.run(
        ["bash", "-c", f'set -o pipefail; {command}; echo "casman=${{PIPESTATUS[0]}}" >&2'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split() == ["PART", "TYPE", "POL", "CREATED"]
    assert done.stderr == "casman=0\n", done.stderr
    assert done.returncode == 0


@pytest.mark.slow
def test_a_closed_pipe_through_python_is_the_same(casman: Casman) -> None:
    casman.ok("parts", "add", "LNA", "5000", "2")
    process = subprocess.Popen(
        [*_casman_exe(), "parts", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"PART")
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 0
    assert stderr == b""


@pytest.mark.slow
def test_answering_no_at_a_confirmation_aborts_without_error(casman: Casman) -> None:
    """``sync restore --at`` asks on a terminal before changing the whole array; "n" is a
    choice, not a failure: "Aborted.", exit 1 (as click does), nothing changed."""
    casman.ok("parts", "add", "ANTENNA", "2", "1")
    casman.ok("parts", "add", "LNA", "2", "1")
    moments = json.loads(casman.ok("sync", "restore", "--list-times", "--json").stdout)
    before = fingerprint(casman.directory)
    process, controller = _on_a_terminal("sync", "restore", "--at", moments[0]["at"])
    try:
        assert process.stderr is not None
        _read_until(process.stderr.fileno(), b"[y/N]: ", process)
        os.write(controller, b"n\n")
        _, stderr = process.communicate(timeout=WAIT_SECONDS)
    finally:
        os.close(controller)
    text = stderr.decode()
    assert process.returncode == 1, text
    assert text.strip().splitlines()[-1] == "Aborted."
    assert "Error" not in text and "Traceback" not in text
    assert fingerprint(casman.directory) == before


def test_a_broken_connection_is_an_error_not_a_closed_stdout() -> None:
    """A BrokenPipeError from a socket or a child (stdout still read) is a failure."""
    script = (
        "import sys\n"
        "from casman.cli.errors import closed_output_or_failure, OutputClosed\n"
        "error = closed_output_or_failure(BrokenPipeError(32, 'Broken pipe'))\n"
        "print(type(error).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "CasmanError"


def test_quiet_prints_only_errors(casman: Casman, tmp_path: Path) -> None:
    created = casman.ok("-q", "parts", "add", "ANTENNA", "1", "1")
    assert created.stderr == "" and "ANT00001P1" in created.stdout
    config = tmp_path / "config.yaml"
    config.write_text("databse:\n  dir: x\n")  # a typo: a warning, not an error
    warned = casman.ok("--config", str(config), "parts", "list")
    assert "Warning:" in warned.stderr
    quiet = casman.ok("-q", "--config", str(config), "parts", "list")
    assert quiet.stderr == "" and "ANT00001P1" in quiet.stdout
    failed = casman.fails("-q", "assembly", "chain", "ANT99999P1")
    assert failed.stderr.startswith("Error: ")


def test_quiet_and_verbose_together_are_a_usage_error(casman: Casman) -> None:
    result = casman.fails("-q", "-v", "parts", "list", code=2)
    assert "-q and -v" in result.stderr


def test_verbosity_levels_add_info_then_debug(
    casman: Casman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASMAN_SYNC_BACKEND", "local")
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "store"))
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    plain = casman.ok("sync", "backup")
    info = casman.ok("-v", "sync", "backup")
    debug = casman.ok("-vv", "sync", "backup")
    assert "INFO" not in plain.stderr and "DEBUG" not in plain.stderr
    assert "INFO casman" in info.stderr and "DEBUG" not in info.stderr
    assert "INFO casman" in debug.stderr
    assert f"DEBUG casman.cli: databases: {casman.directory}" in debug.stderr
