"""What comes from a store is data, never code: hostile or broken objects change nothing.

Each test plants an object in a ``local`` store the way an intruder or a broken disk would,
with an honest name (the SHA-256 of its bytes, so only the content checks can refuse it)
and named in the head, then syncs: the object is set aside with one line, nothing of it
reaches a table, and the databases stay byte for byte as they were.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from casman.config import load_config
from casman.storage.operations import Storage
from casman.storage.plugins import open_storage
from casman.sync.store.head import SiteTip, read_head, write_head
from casman.sync.store.keys import segment_key
from tests.conftest import Casman, fingerprint

CRAFTED_TABLE = (
    'x" UNION ALL SELECT COUNT(*) FROM (WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL '
    "SELECT i + 1 FROM r) SELECT i FROM r) --"
)
GOOD_PART = {
    "id": 9,
    "part_number": "LNA00009P1",
    "part_type": "LNA",
    "polarization": "P1",
    "date_created": "2026-01-01T00:00:00Z",
    "date_modified": None,
}


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "remote"
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(path))
    monkeypatch.delenv("CASMAN_SYNC_BACKEND", raising=False)
    return path


def _storage() -> Storage:
    return open_storage(load_config())


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record(
    ops: list[list[Any]], *, site: str = "intruder", kind: str = "parts add"
) -> dict[str, Any]:
    """A record as it travels, with the honest id of its content."""
    content = {"v": 1, "site": site, "hlc": 1 << 42, "kind": kind, "ops": ops, "sup": []}
    return {"id": hashlib.sha256(_canonical(content)).hexdigest(), **content}


def segment_body(records: list[dict[str, Any]], site: str = "intruder", seq: int = 1) -> bytes:
    data = {
        "format": "casman-segment/1",
        "site": site,
        "seq": seq,
        "previous": None,
        "records": records,
    }
    return gzip.compress(_canonical(data), mtime=0)


def plant(body: bytes, site: str = "intruder", seq: int = 1) -> str:
    """Store ``body`` under its honest segment key and name it in the head."""
    storage = _storage()
    key = segment_key(site, seq, hashlib.sha256(body).hexdigest())
    storage.put(key, body, {})
    head = read_head(storage)
    assert head is not None
    write_head(storage, head.with_tip(site, SiteTip(seq, key)), head)
    return key


def _schema(directory: Path) -> list[tuple[str, str]]:
    found = []
    for name in ("parts.db", "assembled_casm.db"):
        conn = sqlite3.connect(directory / name)
        found += conn.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
        conn.close()
    return found


def _published_site(casman: Casman) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "sync")


def _refused(casman: Casman, expected: str, lines: int = 1) -> str:
    """Sync with the planted object: one line per refusal, nothing changed."""
    before = fingerprint(casman.directory)
    schema = _schema(casman.directory)
    result = casman.ok("sync", "sync")
    refusals = [line for line in result.stdout.splitlines() if "set aside" in line]
    assert len(refusals) == lines, result.output
    assert expected in refusals[0], result.output
    assert "Traceback" not in result.output + result.stderr
    assert fingerprint(casman.directory) == before
    assert _schema(casman.directory) == schema
    return result.output


def _part(**changes: Any) -> dict[str, Any]:
    return {**GOOD_PART, **changes}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([[CRAFTED_TABLE, "insert", "x", {"a": 1}]], "unknown table"),
        ([["sqlite_master", "insert", "x", {"a": 1}]], "unknown table"),
        ([["parts", "insert", "LNA00009P1", {**_part(), "evil": "x"}]], "column"),
        (
            [
                [
                    "parts",
                    "insert",
                    "LNA00009P1",
                    {k: v for k, v in _part().items() if k != "part_type"},
                ]
            ],
            "column",
        ),
        (
            [
                [
                    "parts",
                    "insert",
                    "'; DROP TABLE parts; --",
                    _part(part_number="'; DROP TABLE parts; --"),
                ]
            ],
            "DROP",
        ),
        ([["parts", "drop", "LNA00009P1", _part()]], "unknown action"),
    ],
    ids=[
        "crafted-table",
        "sqlite-master",
        "extra-column",
        "missing-column",
        "bad-number",
        "action",
    ],
)
def test_a_hostile_record_is_set_aside_and_reaches_no_table(
    casman: Casman, remote: Path, ops: list[list[Any]], expected: str
) -> None:
    _published_site(casman)
    plant(segment_body([record(ops)]))
    _refused(casman, expected)
    assert _part_numbers(casman) == ["ANT00001P1"]


def test_a_record_that_does_not_match_its_id_is_set_aside(casman: Casman, remote: Path) -> None:
    _published_site(casman)
    forged = record([["parts", "insert", "LNA00009P1", _part()]])
    forged["ops"][0][3] = _part(part_type="ANTENNA")  # content changed, id kept
    plant(segment_body([forged]))
    _refused(casman, "does not match its content")


def test_the_good_records_of_a_segment_still_get_in(casman: Casman, remote: Path) -> None:
    _published_site(casman)
    good = record([["parts", "insert", "LNA00009P1", _part()]], site="field-2")
    bad = record([[CRAFTED_TABLE, "insert", "x", {"a": 1}]], site="field-2")
    plant(segment_body([good, bad], site="field-2"), site="field-2")
    refusals = [
        line for line in casman.ok("sync", "sync").stdout.splitlines() if "set aside" in line
    ]
    assert len(refusals) == 1 and "unknown table" in refusals[0]
    assert _part_numbers(casman) == ["ANT00001P1", "LNA00009P1"]


def _deeply_nested() -> bytes:
    return gzip.compress(b"[" * 100_000 + b"]" * 100_000, mtime=0)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"SQLite format 3\x00" + b"\x00" * 4000, "not a gzip segment"),
        (gzip.compress(b"{not json", mtime=0), "not valid JSON"),
        (_deeply_nested(), "nested deeper"),
        (gzip.compress(_canonical({"format": "casman-segment/1"}), mtime=0), "another segment"),
    ],
    ids=["not-gzip", "not-json", "deep-json", "no-records"],
)
def test_a_broken_segment_is_set_aside(
    casman: Casman, remote: Path, body: bytes, expected: str
) -> None:
    _published_site(casman)
    plant(body)
    _refused(casman, expected)


def test_a_segment_too_large_is_refused_before_reading(
    casman: Casman, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _published_site(casman)
    plant(segment_body([record([["parts", "insert", "LNA00009P1", _part()]])]) + b"\x00" * 4096)
    monkeypatch.setattr("casman.sync.store.segments.MAX_SEGMENT_BYTES", 1024)
    _refused(casman, "allowed")


def test_a_segment_that_unpacks_to_too_much_is_refused(
    casman: Casman, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _published_site(casman)
    plant(gzip.compress(b" " * 1_000_000, mtime=0))  # a small bomb: 1 MB of blanks
    monkeypatch.setattr("casman.sync.store.segments.MAX_UNPACKED_BYTES", 64 * 1024)
    _refused(casman, "unpacks to more than")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (b"\xff\xfe not text", "not UTF-8"),
        (
            _canonical(
                {
                    "format": "casman-array/1",
                    "array": "x",
                    "sites": {"a": {"seq": 1, "key": "log/../../etc/passwd"}},
                }
            ),
            "not a segment key",
        ),
        (
            _canonical(
                {
                    "format": "casman-array/1",
                    "array": "x",
                    "sites": {"a": {"seq": 1, "key": "log/b/0000000001-" + "0" * 64}},
                }
            ),
            "another site's segment",
        ),
    ],
    ids=["deep", "not-utf8", "traversal", "impersonation"],
)
def test_a_hostile_head_is_one_line_and_changes_nothing(
    casman: Casman, remote: Path, head: bytes, expected: str
) -> None:
    _published_site(casman)
    casman.ok("parts", "add", "LNA", "1", "1")  # work waiting to be published
    _storage().put("head.json", head, {})
    before = fingerprint(casman.directory)
    result = casman.fails("sync", "sync")
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert fingerprint(casman.directory) == before
    assert (remote / "head.json").read_bytes() == head  # nothing published over it
    assert not (remote / "etc").exists()


def test_terminal_escapes_in_the_store_never_reach_the_terminal(
    casman: Casman, remote: Path
) -> None:
    _published_site(casman)
    evil = "evil \x1b[2J\x1b]0;owned\x07 text"
    plant(
        segment_body(
            [record([["parts", "insert", "LNA00009P1", _part()]], site=evil, kind=evil)],
            site="field-2",
        ),
        site="field-2",
    )
    casman.ok("sync", "sync")
    for args in (("sync", "restore", "--list-times"), ("sync", "list"), ("sync", "status")):
        out = casman.ok(*args).output
        assert "\x1b" not in out and "\x07" not in out, args
    assert "evil ?[2J?]0;owned? text" in casman.ok("sync", "restore", "--list-times").output
    # the head is the store's too: a checkpoint's fields are text from outside
    casman.ok("sync", "backup")
    storage = _storage()
    head = read_head(storage)
    assert head is not None
    (checkpoint,) = head.checkpoints
    hostile = dataclasses.replace(
        checkpoint,
        created=evil,
        keys={name: f"{key}\x1b[2J" for name, key in checkpoint.keys.items()},
    )
    write_head(storage, dataclasses.replace(head, checkpoints=(hostile,)), head)
    for args in (("sync", "list"), ("sync", "status"), ("sync", "list", "--json")):
        result = casman(*args)
        assert "\x1b" not in result.output and "\x07" not in result.output, args
        assert "Traceback" not in result.output, args


def test_retention_never_touches_objects_the_head_does_not_name(
    casman: Casman, remote: Path, tmp_path: Path
) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    keep_versions: 2\n")
    storage = _storage()
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "sync")
    junk = [f"backups/parts.db/2099010{n}_000000_parts.db" for n in (1, 2, 3)]
    for key in junk:
        storage.put(key, b"junk", {})
    for _ in range(3):
        casman.ok("parts", "add", "ANT", "1", "1")
        casman.ok("sync", "backup")
    listed = json.loads(casman.ok("sync", "list", "--json").output)["checkpoints"]
    assert [c["records"] for c in listed] == [4, 3]  # the newest real ones, junk ignored
    stored = {info.key for info in storage.list("backups/parts.db/")}
    assert stored == {*junk, *(c["keys"]["parts.db"] for c in listed)}
    report = json.loads(casman.ok("sync", "maintain", "--json").output)
    assert report["problems"] == {}
    assert not set(junk) & set(report["verified"])


KILLER = """
import os, signal, sys
from casman.storage.hookspecs import hookimpl
from casman.storage.plugins import get_plugin_manager

AT = int(sys.argv[1])


class Killer:
    seen = 0

    @hookimpl(wrapper=True)
    def casman_storage_op(self, backend, op):
        Killer.seen += 1
        if Killer.seen == AT:
            os.kill(os.getpid(), signal.SIGKILL)
        return (yield)

get_plugin_manager().register(Killer())
from casman.cli import main
sys.argv = ["casman", *sys.argv[2:]]
main()
"""


def _part_numbers(casman: Casman) -> list[str]:
    return [p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").output)]


def test_a_backup_killed_at_any_request_leaves_nothing_behind(
    casman: Casman, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman.ok("parts", "add", "ANT", "3", "1")
    casman.ok("sync", "sync")
    killed = 0
    for n in range(1, 40):
        casman.ok("parts", "add", "ANT", "1", "1")
        before = fingerprint(casman.directory)
        done = subprocess.run(
            [sys.executable, "-c", KILLER, str(n), "sync", "backup"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode == 0:  # n is past the backup's last request
            break
        assert done.returncode == -signal.SIGKILL, done.stderr
        killed += 1
        assert fingerprint(casman.directory) == before  # a backup changes no table
        assert not [p for p in casman.directory.iterdir() if "snapshot" in p.name]
    assert killed >= 5  # the head, a segment, the head, two checkpoints, the head
    assert "checkpoint" in casman.ok("sync", "backup").output
    assert json.loads(casman.ok("sync", "maintain", "--json").output)["problems"] == {}
    known = ("array.json", "head.json", "log/", "backups/")
    strays = [k for k in _store_objects(remote) if not k.startswith(known)]
    assert strays == []
    # every change made here between the kills is in the store: a new site receives it all
    expected = _part_numbers(casman)
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(tmp_path / "new-site"))
    casman.ok("sync", "sync")
    assert _part_numbers(casman) == expected


def _store_objects(remote: Path) -> list[str]:
    return [
        str(p.relative_to(remote))
        for p in remote.rglob("*")
        if p.is_file() and not p.name.endswith("@meta.json") and p.name != ".casman@lock"
    ]


def _damage(directory: Path) -> None:
    (directory / "parts.db").write_bytes(b"\x00" * 4096)
    for sidecar in ("parts.db-wal", "parts.db-shm"):
        (directory / sidecar).unlink(missing_ok=True)


def test_repeated_repairs_keep_a_bounded_number_of_safety_copies(
    casman: Casman, remote: Path
) -> None:
    casman.ok("parts", "add", "ANT", "1", "1")
    casman.ok("sync", "sync")

    def files() -> set[str]:
        # the live databases' own -wal/-shm come and go with SQLite's connections
        live = {f"{db}{s}" for db in ("parts.db", "assembled_casm.db") for s in ("-wal", "-shm")}
        return {p.name for p in casman.directory.iterdir()} - live - {"safety"}

    before = files()
    for _ in range(8):
        _damage(casman.directory)
        assert "was damaged" in casman.ok("sync", "restore").output
    assert files() == before  # no stray temp files
    copies = [p for p in (casman.directory / "safety").iterdir() if p.name.startswith("parts.db")]
    assert 1 <= len(copies) <= 5  # database.sync.safety_copies
    assert _part_numbers(casman) == ["ANT00001P1"]


FULL_DISK = (
    "import resource, signal, sys\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))\n"
    "from casman.cli import main\n"
    "sys.argv = ['casman', *sys.argv[1:]]\n"
    "main()\n"
)


def test_restore_on_a_full_disk_is_one_line_and_changes_nothing(
    casman: Casman, remote: Path, tmp_path: Path
) -> None:
    casman.ok("parts", "add", "ANT", "300", "1")
    casman.ok("sync", "sync")
    moment = json.loads(casman.ok("sync", "restore", "--list-times", "--json").output)[0]["at"]
    before = fingerprint(casman.directory)
    output = tmp_path / "then"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            FULL_DISK,
            "sync",
            "restore",
            "--at",
            moment,
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert fingerprint(casman.directory) == before
    assert not output.exists()  # no half-written pair left to trip the next attempt
    casman.ok("sync", "restore", "--at", moment, "--output", str(output))
    conn = sqlite3.connect(output / "parts.db")
    assert conn.execute("SELECT COUNT(*) FROM parts").fetchone()[0] == 300
    conn.close()
