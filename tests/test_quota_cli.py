"""R2's quota through the CLI: blocking at 95 % before sending, month rollover, dry runs,
and exact counts when several processes share one tracker. r2 runs on the moto server.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from casman.storage import quota
from casman.storage.plugins import reset_plugin_manager
from casman.testing.moto import moto_server, s3_bucket, s3_client
from tests.conftest import Casman, fingerprint

__all__ = ["moto_server", "s3_bucket"]  # fixtures, imported as casman_s3's conftest does

TRACKER = ".r2_quota_tracker.json"
R2_CLASSES = {"put": "A", "list": "A", "get": "B", "head": "B", "delete": None}
"""R2's billing classes, as the spec gives them (the test does not ask casman for them)."""


@pytest.fixture(autouse=True)
def fresh_plugins() -> Iterator[None]:
    reset_plugin_manager()
    yield
    reset_plugin_manager()


class R2:
    """``casman sync --backend r2 …`` on one moto bucket, plus looks behind casman's back."""

    def __init__(self, casman: Casman, endpoint: str, bucket: str) -> None:
        self.casman = casman
        self.endpoint = endpoint
        self.bucket = bucket

    def __call__(self, *args: str) -> Result:
        return self.casman("sync", "--backend", "r2", *args)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result

    def fails(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 1, (result.exit_code, result.output)
        assert "Traceback" not in result.output
        return result

    def objects(self) -> dict[str, str]:
        client = s3_client(self.endpoint)
        found: dict[str, str] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                found[item["Key"]] = item["ETag"]
        return found

    @property
    def tracker_path(self) -> Path:
        return self.casman.directory / TRACKER

    def tracker(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.tracker_path.read_text(encoding="utf-8"))
        return data


@pytest.fixture
def r2(casman: Casman, moto_server: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> R2:
    """Backend r2 configured through its documented environment variables only."""
    for name in ("CASMAN_SYNC_BACKEND", "CASMAN_TRACE_PLUGINS", "CASMAN_LOAD_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("R2_ACCOUNT_ID", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("R2_ACCESS_KEY_ID", "r2-test-access-key")
    monkeypatch.setenv("R2_SECRET_ACCESS_KEY", "SECRETVALUE-abc123xyz")
    monkeypatch.setenv("R2_BUCKET_NAME", s3_bucket)
    monkeypatch.setenv("R2_ENDPOINT", moto_server)
    casman.ok("parts", "add", "ANT", "2", "1")
    return R2(casman, moto_server, s3_bucket)


def write_config(tmp_path: Path, class_a: int, keep: int = 100) -> None:
    """config.yaml in the cwd (the db_dir fixture chdirs to tmp_path)."""
    (tmp_path / "config.yaml").write_text(
        f"database:\n  sync:\n    keep_versions: {keep}\nr2:\n  quota:\n    class_a: {class_a}\n",
        encoding="utf-8",
    )


def next_month(now: datetime) -> datetime:
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=1, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def _limit_reached_exactly(count: int, step: int) -> int:
    """The smallest Class A limit whose 95 % is ``count`` plus a whole number of ``step``s.

    A multiple of 20, so that 95 % of it is a whole count; the test then needs no knowledge
    of what a backup costs beyond what it measured.
    """
    return next(20 * m for m in range(1, 1000) if 19 * m > count and (19 * m - count) % step == 0)


def test_backups_until_95_percent_then_blocked_before_anything_is_sent(
    r2: R2, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    write_config(tmp_path, class_a=1000, keep=1000)
    r2.ok("backup")  # the first one also founds the store
    r2.ok("backup")  # the second publishes the site's tip (its first sync had none)
    first = r2.tracker()
    r2.ok("backup")
    start = r2.tracker()
    cost_a, cost_b = start["class_a"] - first["class_a"], start["class_b"] - first["class_b"]
    assert cost_a >= 1 and (start["backups"], start["restores"]) == (3, 0)
    limit = _limit_reached_exactly(start["class_a"], cost_a)
    write_config(tmp_path, class_a=limit)
    caplog.set_level(logging.WARNING, logger="casman.quota")
    done = 0
    while r2.tracker()["class_a"] < 0.95 * limit:
        r2.ok("backup")
        done += 1
        tracker = r2.tracker()
        assert (tracker["class_a"], tracker["class_b"], tracker["backups"]) == (
            start["class_a"] + done * cost_a,
            start["class_b"] + done * cost_b,
            3 + done,
        )
    reached = r2.tracker()["class_a"]
    assert reached == 0.95 * limit
    backups = {k for k in r2.objects() if k.endswith("_parts.db")}
    assert len(backups) == 3 + done
    warnings = [r.getMessage() for r in caplog.records if r.name == "casman.quota"]
    assert len(warnings) == 1 and "of Class A operations used" in warnings[0]

    r2.casman.ok("parts", "add", "ANT", "1", "1")  # something new to back up
    before_objects, before = r2.objects(), r2.tracker()
    before_db = fingerprint(r2.casman.directory)
    blocked = r2.fails("backup")
    assert blocked.stdout == ""
    assert blocked.stderr.count("\n") == 1 and blocked.stderr.startswith("Error: ")
    assert "quota" in blocked.stderr and "Class A" in blocked.stderr
    assert "95.0%" in blocked.stderr and "'backup'" in blocked.stderr
    assert r2.objects() == before_objects  # no Class A request was sent
    after = r2.tracker()
    assert (after["class_a"], after["objects"]) == (before["class_a"], before["objects"])
    assert after["class_b"] - before["class_b"] <= cost_b  # reads (Class B) are not blocked
    assert fingerprint(r2.casman.directory) == before_db
    assert not [p for p in r2.casman.directory.glob(".*") if p.suffix == ".snapshot"]

    # every command that needs a Class A request is refused (the new part must be
    # published); a Class B read still works
    for command in (("sync",), ("push",), ("backup",)):
        result = r2.fails(*command)
        assert "Class A" in result.stderr and result.stderr.count("\n") == 1
    assert r2.objects() == before_objects
    assert r2.tracker()["class_a"] == reached
    class_b = r2.tracker()["class_b"]
    r2.ok("restore", max(backups), "--output", str(tmp_path / "then"))
    assert r2.tracker()["class_b"] == class_b + 1 and r2.tracker()["class_a"] == reached
    text = r2.ok("status").stdout
    class_a_line = next(line for line in text.splitlines() if "Class A Ops" in line)
    assert "✗" in class_a_line and f"{reached} / {limit} (95.0%)" in class_a_line
    # a dry run sends nothing, so it is never blocked
    assert "Quota cost: " in r2.ok("backup", "--dry-run").stdout

    # a new month: the request counters reset (stored bytes do not) and backups work again
    stored = sum(r2.tracker()["objects"].values())
    later = next_month(quota.now())
    monkeypatch.setattr(quota, "now", lambda: later)
    r2.casman.ok("parts", "add", "ANT", "1", "1")
    out = r2.ok("backup").stdout
    assert "parts.db: checkpoint backups/parts.db/" in out
    assert len({k for k in r2.objects() if k.endswith("_parts.db")}) == len(backups) + 1
    tracker = r2.tracker()
    assert tracker["month"] == later.strftime("%Y-%m")
    # one checkpoint as before, plus publishing the new part (its segment and the head)
    assert tracker["class_a"] == cost_a + 2 and tracker["backups"] == 1
    assert tracker["restores"] == 0
    assert sum(tracker["objects"].values()) > stored


def test_dry_run_sends_nothing_and_prints_the_cost(
    r2: R2, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, class_a=1000, keep=3)
    r2.ok("backup")
    r2.casman.ok("parts", "add", "ANT", "1", "1")  # a local change a real backup would send
    objects = r2.objects()
    databases = fingerprint(r2.casman.directory)
    monkeypatch.setenv("CASMAN_TRACE_PLUGINS", "1")  # would print a line per request sent

    class_a = r2.tracker()["class_a"]
    cases: list[tuple[tuple[str, ...], list[str]]] = [
        (
            ("backup", "--dry-run"),
            [
                "GET    head.json  (Class B)  (read now)",
                "PUT    log/",
                "PUT    backups/parts.db/",
                "PUT    head.json  (Class A)",
            ],
        ),
        (("sync", "--dry-run"), ["PUT    log/", "PUT    head.json  (Class A)"]),
    ]
    for args, lines in cases:
        result = r2.ok(*args)
        out = result.stdout
        assert "Dry run on backend r2: nothing is written" in out, out
        for line in lines:
            assert line in out, (line, out)
        assert "Quota cost:" in out.splitlines()[-1], out
        # every write is traced as not sent; the reads that decide the plan were sent
        assert "op=put" not in result.stderr or "dry-run (not sent)" in result.stderr
        assert r2.objects() == objects
        assert fingerprint(r2.casman.directory) == databases
    assert r2.tracker()["class_a"] == class_a, "writes are never counted"
    assert not list((r2.casman.directory).glob("safety/*"))


def _casman_exe() -> list[str]:
    found = shutil.which("casman", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "casman"]


@pytest.mark.slow
def test_four_processes_at_once_leave_exact_counts(r2: R2, tmp_path: Path) -> None:
    """Four ``sync list`` at once: the tracker counts exactly the requests each one traced."""
    for _ in range(5):
        r2.ok("backup")  # default free-tier limits: tracked, never near a block
    backups = [k for k in r2.objects() if k.endswith(".db")]
    assert len(backups) == 10
    start = r2.tracker()
    env = {**os.environ, "CASMAN_TRACE_PLUGINS": "1"}
    processes = [
        subprocess.Popen(
            [*_casman_exe(), "sync", "--backend", "r2", "list", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    traced = {"A": 0, "B": 0}
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
        listed = json.loads(stdout)["checkpoints"]
        assert sorted(k for c in listed for k in c["keys"].values()) == sorted(backups)
        traces = [line for line in stderr.splitlines() if line.startswith("casman trace:")]
        assert traces and all(t.endswith("outcome=ok") for t in traces)
        for trace in traces:
            kind = trace.split(" op=", 1)[1].split(" ", 1)[0]
            cls = R2_CLASSES[kind]
            if cls is not None:
                traced[cls] += 1
    end = r2.tracker()
    assert end["class_a"] - start["class_a"] == traced["A"]
    assert end["class_b"] - start["class_b"] == traced["B"]
    assert traced["A"] + traced["B"] >= 4
    assert (end["backups"], end["restores"], end["month"]) == (
        start["backups"],
        start["restores"],
        start["month"],
    )
    assert end["objects"] == start["objects"]
    leftovers = [p.name for p in r2.casman.directory.glob(f"{TRACKER}.*") if p.suffix != ".lock"]
    assert leftovers == []
