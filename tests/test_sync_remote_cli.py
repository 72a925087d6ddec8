"""``casman sync`` against ``s3`` and ``r2`` on the session moto server, over real HTTP.

Each backend is configured only through its documented environment variables; every
command's stdout and stderr is checked for the (distinctive, fake) secret key. The store
is looked at behind casman's back with boto3: ``array.json``, ``head.json``, segments
``log/{site}/{seq}-{sha256}`` and checkpoints ``backups/{db}/{YYYYmmdd_HHMMSS}_{db}``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result

from casman.storage.plugins import reset_plugin_manager
from casman.testing.moto import free_port, moto_server, s3_bucket, s3_client
from tests.conftest import Casman, add_all_types

__all__ = ["moto_server", "s3_bucket"]  # fixtures, imported as casman_s3's conftest does

SECRET = "SECRETVALUE-abc123xyz"
ACCESS_KEY_ID = "AKIDFAKEACCESSKEY0001"
R2_ACCOUNT = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Variables:
    """The documented environment variables of one backend."""

    bucket: str
    endpoint: str
    access_key: str
    secret_key: str
    extra: tuple[tuple[str, str], ...] = ()


VARIABLES = {
    "s3": Variables(
        bucket="CASMAN_S3_BUCKET",
        endpoint="CASMAN_S3_ENDPOINT",
        access_key="AWS_ACCESS_KEY_ID",
        secret_key="AWS_SECRET_ACCESS_KEY",
        extra=(("AWS_DEFAULT_REGION", "us-east-1"),),
    ),
    "r2": Variables(
        bucket="R2_BUCKET_NAME",
        endpoint="R2_ENDPOINT",
        access_key="R2_ACCESS_KEY_ID",
        secret_key="R2_SECRET_ACCESS_KEY",
        extra=(("R2_ACCOUNT_ID", R2_ACCOUNT),),
    ),
}

_SCRUBBED = (
    "CASMAN_SYNC_BACKEND",
    "CASMAN_TRACE_PLUGINS",
    "CASMAN_LOAD_PLUGINS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    *(name for v in VARIABLES.values() for name in (v.bucket, v.endpoint, v.access_key)),
    *(v.secret_key for v in VARIABLES.values()),
    *(name for v in VARIABLES.values() for name, _ in v.extra),
)


def assert_no_secret(result: Result) -> None:
    for stream in (result.stdout, result.stderr, result.output):
        assert SECRET not in stream
        assert SECRET[:12] not in stream  # not even a recognisable part of it


_SEGMENT = re.compile(r"^log/([a-z0-9_-]+)/(\d{10})-([0-9a-f]{64})$")


@dataclass
class Remote:
    """One backend (``s3`` or ``r2``) on a fresh moto bucket, driven through the CLI."""

    name: str
    bucket: str
    endpoint: str
    variables: Variables
    casman: Casman

    def __call__(self, *args: str) -> Result:
        result = self.casman("sync", "--backend", self.name, *args)
        assert_no_secret(result)
        return result

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, result.output + result.stderr
        return result

    def fails(self, *args: str, code: int = 1) -> Result:
        result = self(*args)
        assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
        assert "Traceback" not in result.output + result.stderr
        return result

    def checkpoints(self) -> list[dict[str, object]]:
        listing = json.loads(self.ok("list", "--json").stdout)
        found: list[dict[str, object]] = listing["checkpoints"]
        return found

    def objects(self) -> dict[str, int]:
        """Every object in the bucket with its size, read behind casman's back."""
        client = s3_client(self.endpoint)
        found: dict[str, int] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                found[item["Key"]] = int(item["Size"])
        return found

    def body(self, key: str) -> bytes:
        data: bytes = (
            s3_client(self.endpoint).get_object(Bucket=self.bucket, Key=key)["Body"].read()
        )
        return data

    def segments(self) -> list[str]:
        return sorted(key for key in self.objects() if key.startswith("log/"))


def configure(monkeypatch: pytest.MonkeyPatch, name: str, bucket: str, endpoint: str) -> Variables:
    """Set (only) the documented variables of backend ``name``; unset everything else.

    CASMAN_SYNC_BACKEND names the backend as well as ``--backend``: it is what the one-line
    pointer for old R2 habits asks a user to set (see the report on that warning)."""
    for variable in _SCRUBBED:
        monkeypatch.delenv(variable, raising=False)
    # botocore must never wait for an instance-metadata service while looking for creds
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("CASMAN_SYNC_BACKEND", name)
    variables = VARIABLES[name]
    monkeypatch.setenv(variables.bucket, bucket)
    monkeypatch.setenv(variables.endpoint, endpoint)
    monkeypatch.setenv(variables.access_key, ACCESS_KEY_ID)
    monkeypatch.setenv(variables.secret_key, SECRET)
    for variable, value in variables.extra:
        monkeypatch.setenv(variable, value)
    return variables


@pytest.fixture(autouse=True)
def fresh_plugins() -> Iterator[None]:
    reset_plugin_manager()
    yield
    reset_plugin_manager()


@pytest.fixture(params=["s3", "r2"])
def remote(
    request: pytest.FixtureRequest,
    casman: Casman,
    moto_server: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Remote:
    name = str(request.param)
    variables = configure(monkeypatch, name, s3_bucket, moto_server)
    return Remote(name, s3_bucket, moto_server, variables, casman)


def _part_numbers(casman: Casman) -> list[str]:
    return sorted(p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").stdout))


def _parts_in(path: Path) -> list[str]:
    """Part numbers of a database file, read with nothing but sqlite3."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [str(r[0]) for r in connection.execute("SELECT part_number FROM parts ORDER BY 1")]
    finally:
        connection.close()


def _chains(casman: Casman) -> list[list[str]]:
    return sorted(c["parts"] for c in json.loads(casman.ok("assembly", "chains", "--json").stdout))


def _one_line_error(result: Result, *, quiet: bool = True) -> str:
    """The failure is one ``Error:`` line on stderr (and, if ``quiet``, nothing on stdout)."""
    if quiet:
        assert result.stdout == "", result.stdout
    assert result.stderr.startswith("Error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def _at(monkeypatch: pytest.MonkeyPatch, site: Path) -> None:
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site))


# --- backup (checkpoints) / list / restore ---------------------------------------------


def test_backup_list_repair_and_go_back(remote: Remote, tmp_path: Path) -> None:
    casman = remote.casman
    add_all_types(casman, 2, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    out = remote.ok("backup").stdout
    assert "published 6 change(s)" in out
    assert "parts.db: checkpoint backups/parts.db/" in out
    assert "assembled_casm.db: checkpoint backups/assembled_casm.db/" in out

    # the store, read behind casman's back: identity, head, one segment, one checkpoint
    (checkpoint,) = remote.checkpoints()
    keys = checkpoint["keys"]
    assert isinstance(keys, dict) and set(keys) == {"parts.db", "assembled_casm.db"}
    (segment,) = remote.segments()
    assert _SEGMENT.match(segment)
    assert hashlib.sha256(remote.body(segment)).hexdigest() == segment.rsplit("-", 1)[1]
    stored = remote.objects()
    assert set(stored) == {"array.json", "head.json", segment, *keys.values()}
    head = json.loads(remote.body("head.json"))
    assert head["checkpoints"][0]["keys"] == keys
    for db_name, key in keys.items():
        assert re.fullmatch(
            rf"backups/{re.escape(db_name)}/\d{{8}}_\d{{6}}_{re.escape(db_name)}", key
        )
        body = remote.body(key)
        assert body[:16] == b"SQLite format 3\x00"  # a plain database
        assert checkpoint["sizes"][db_name] == len(body) == stored[key]  # type: ignore[index]
        assert checkpoint["sha256"][db_name] == hashlib.sha256(body).hexdigest()  # type: ignore[index]
    assert str(checkpoint["created"]).endswith("Z") and checkpoint["records"] == 6
    (tmp_path / "checkpoint.db").write_bytes(remote.body(keys["parts.db"]))
    before = _part_numbers(casman)
    assert _parts_in(tmp_path / "checkpoint.db") == before
    text = remote.ok("list").stdout
    assert "Checkpoints (1), newest first:" in text and keys["parts.db"] in text

    # repair: the damaged file is set aside (kept) and rebuilt from the store
    damaged = b"\x00" * 4096
    (casman.directory / "parts.db").write_bytes(damaged)
    casman.fails("parts", "list")
    out = remote.ok("restore").stdout
    assert "parts.db was damaged: set aside" in out
    assert _part_numbers(casman) == before
    assert _chains(casman) == [["ANT00001P1", "LNA00001P1"]]
    safety = [p for p in (casman.directory / "safety").iterdir() if p.name.endswith(".damaged")]
    assert [p.read_bytes() for p in safety] == [damaged]

    # going back to the checkpoint, into a folder: the live databases stay as they are
    casman.ok("parts", "add", "ANT", "1", "1")
    out = remote.ok("restore", keys["parts.db"], "--output", str(tmp_path / "then")).stdout
    assert "the live databases are unchanged" in out
    assert _parts_in(tmp_path / "then" / "parts.db") == before
    assert _part_numbers(casman) == sorted([*before, "ANT00003P1"])


def test_going_back_is_one_change_every_site_receives(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman = remote.casman
    site_a, site_b = casman.directory, tmp_path / "site-b"
    casman.ok("parts", "add", "ANT", "2", "1")
    casman.ok("parts", "add", "LNA", "2", "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    remote.ok("backup")
    (checkpoint,) = remote.checkpoints()
    key = checkpoint["keys"]["parts.db"]  # type: ignore[index]
    casman.ok("assembly", "disconnect", "ANT00001P1", "LNA00001P1")
    casman.ok("assembly", "connect", "ANT00002P1", "LNA00001P1")
    remote.ok("sync")
    _at(monkeypatch, site_b)
    remote.ok("sync")
    assert _chains(casman) == [["ANT00002P1", "LNA00001P1"]]

    # through a pipe, going back for the whole array needs --yes; nothing changes without
    _at(monkeypatch, site_a)
    refused = remote.fails("restore", key, code=2)
    assert "confirm with --yes" in _one_line_error(refused)
    assert _chains(casman) == [["ANT00002P1", "LNA00001P1"]]
    out = remote.ok("restore", key, "--yes").stdout
    assert "reverted" in out and "as one change" in out
    assert _chains(casman) == [["ANT00001P1", "LNA00001P1"]]
    assert "published 1 change(s)" in remote.ok("sync").stdout

    _at(monkeypatch, site_b)
    assert "received 1 change(s)" in remote.ok("sync").stdout
    assert _chains(casman) == [["ANT00001P1", "LNA00001P1"]]
    assert _part_numbers(casman) == ["ANT00001P1", "ANT00002P1", "LNA00001P1", "LNA00002P1"]


# --- sync between two sites ------------------------------------------------------------


def test_sync_between_two_database_directories(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman = remote.casman
    site_a, site_b = casman.directory, tmp_path / "site-b"

    casman.ok("parts", "add", "ANT", "1", "1")
    assert "created the store's array and published 1 change(s)" in remote.ok("sync").stdout
    _at(monkeypatch, site_b)
    assert "received 1 change(s)" in remote.ok("sync").stdout
    assert _part_numbers(casman) == ["ANT00001P1"]
    assert "in sync; nothing to do" in remote.ok("sync").stdout

    # A moves on; B (unchanged) receives
    _at(monkeypatch, site_a)
    casman.ok("parts", "add", "ANT", "1", "1")
    remote.ok("sync")
    _at(monkeypatch, site_b)
    synced = json.loads(remote.ok("sync", "--json").stdout)
    assert (synced["received"], synced["published"], synced["set_aside"]) == (1, 0, [])
    assert _part_numbers(casman) == ["ANT00001P1", "ANT00002P1"]

    # both change: united, nothing lost on either side
    casman.ok("parts", "add", "LNA", "1", "1")
    _at(monkeypatch, site_a)
    casman.ok("parts", "add", "ANT", "1", "1")
    remote.ok("sync")
    _at(monkeypatch, site_b)
    status = json.loads(remote.ok("status", "--json").stdout)
    assert status["automatic"]["pending_changes"] == 1
    out = remote.ok("sync").stdout
    assert "received 1 change(s); published 1 change(s)" in out
    expected = ["ANT00001P1", "ANT00002P1", "ANT00003P1", "LNA00001P1"]
    assert _part_numbers(casman) == expected
    assert json.loads(remote.ok("status", "--json").stdout)["automatic"]["pending_changes"] == 0
    _at(monkeypatch, site_a)
    remote.ok("sync")
    assert _part_numbers(casman) == expected
    assert len(json.loads(remote.ok("status", "--json").stdout)["sites_in_store"]) == 2


# --- status and maintain ---------------------------------------------------------------


def test_status_and_maintain(remote: Remote) -> None:
    casman = remote.casman
    casman.ok("parts", "add", "ANT", "1", "1")
    text = remote.ok("status").stdout
    assert "✓ reachable; holds array nothing yet" in text
    remote.ok("backup")
    remote.ok("backup")
    status = json.loads(remote.ok("status", "--json").stdout)
    assert status["backend"] == remote.name
    assert status["reachable"] is True and status["error"] is None
    assert status["local_array"] == status["store_array"] is not None
    assert status["sites_in_store"] == [status["site"]] and len(status["checkpoints"]) == 2
    assert status["automatic"]["pending_changes"] == 0
    settings = status["settings"]
    secret_option = "secret_access_key"
    assert settings[secret_option] != SECRET and settings[secret_option].startswith("SE…")
    bucket_option = "bucket" if remote.name == "s3" else "bucket_name"
    assert settings[bucket_option] == remote.bucket
    assert settings["endpoint"] == remote.endpoint

    text = remote.ok("status").stdout
    if remote.name == "r2":
        quota = status["quota"]
        assert quota["backend"] == "r2" and quota["label"] == "R2 Free Tier"
        assert quota["class_a"] > 0 and quota["class_b"] > 0
        assert quota["backups"] == 2
        assert quota["storage_bytes"] == sum(remote.objects().values())
        assert "R2 Free Tier Quota Usage:" in text
        lines = text.splitlines()
        start = lines.index("R2 Free Tier Quota Usage:")
        block = lines[start + 1 : start + 6]
        for title in ("Storage:", "Class A Ops (writes):", "Class B Ops (reads):"):
            line = next(line for line in block if title in line)
            assert "✓" in line, line
        assert any("Backups this month:" in line and line.endswith("2") for line in block)
        assert (casman.directory / ".r2_quota_tracker.json").exists()
    else:
        assert status["quota"] is None
        assert "Quota Usage" not in text

    named = {k for k in remote.objects() if k not in ("array.json", "head.json")}
    for deep in ((), ("--deep",)):
        report = json.loads(remote.ok("maintain", *deep, "--json").stdout)
        assert set(report["verified"]) == named
        assert report["problems"] == {}
    assert f"✓ {len(named)} object(s) verified" in remote.ok("maintain").stdout


@pytest.mark.parametrize("remote", ["s3"], indirect=True)
def test_no_quota_tracker_for_a_backend_without_limits(remote: Remote) -> None:
    """Regression: backup/restore events used to create .s3_quota_tracker.json regardless."""
    remote.casman.ok("parts", "add", "ANT", "1", "1")
    remote.ok("backup")
    remote.ok("restore")
    remote.ok("sync")
    assert not list(remote.casman.directory.glob(".*quota_tracker.json*"))


# --- damaged and swapped objects -------------------------------------------------------


def _replace(remote: Remote, key: str, body: bytes) -> None:
    """Other bytes under ``key``, with the original metadata, behind casman's back."""
    client = s3_client(remote.endpoint)
    metadata = client.head_object(Bucket=remote.bucket, Key=key)["Metadata"]
    client.put_object(Bucket=remote.bucket, Key=key, Body=body, Metadata=metadata)
    assert client.head_object(Bucket=remote.bucket, Key=key)["Metadata"] == metadata


def _flipped(body: bytes) -> bytes:
    """The same size, one byte different."""
    changed = bytearray(body)
    changed[len(changed) // 2] ^= 0xFF
    return bytes(changed)


def test_maintain_reports_a_damaged_checkpoint(remote: Remote) -> None:
    remote.casman.ok("parts", "add", "ANT", "1", "1")
    remote.ok("backup")
    (checkpoint,) = remote.checkpoints()
    key = checkpoint["keys"]["parts.db"]  # type: ignore[index]
    body = remote.body(key)

    _replace(remote, key, body + b"x")  # longer than the head says
    result = remote.fails("maintain")
    assert f"✗ {key}: size {len(body) + 1}, the head says {len(body)} (damaged)" in result.stdout
    assert "1 object(s) failed verification" in _one_line_error(result, quiet=False)

    _replace(remote, key, _flipped(body))  # same size: only the SHA-256 tells
    assert json.loads(remote.ok("maintain", "--json").stdout)["problems"] == {}
    result = remote.fails("maintain", "--deep")
    assert f"✗ {key}: does not match its SHA-256 (damaged)" in result.stdout
    assert remote.body(key) == _flipped(body)  # reported, left in place


def test_a_damaged_or_swapped_segment_is_set_aside_and_published_again(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman = remote.casman
    site_a = casman.directory
    casman.ok("parts", "add", "ANT", "2", "1")
    remote.ok("sync")
    (segment,) = remote.segments()
    _replace(remote, segment, _flipped(remote.body(segment)))

    # a new site: the damaged segment is reported and none of it is installed
    _at(monkeypatch, tmp_path / "site-b")
    synced = remote.ok("sync")
    assert f"✗ set aside: {segment} does not match its SHA-256" in synced.stdout
    assert casman.ok("parts", "list").stdout.startswith("No parts.")

    # the site that holds those records publishes them again; then the new site has them
    _at(monkeypatch, site_a)
    out = remote.ok("sync").stdout
    assert "the store had damaged or lost changes; published them again" in out
    _at(monkeypatch, tmp_path / "site-b")
    synced = json.loads(remote.ok("sync", "--json").stdout)
    assert synced["received"] == 1 and synced["set_aside"] == []
    assert _part_numbers(casman) == ["ANT00001P1", "ANT00002P1"]

    # a segment swapped for another valid segment's bytes is refused the same way
    _at(monkeypatch, site_a)
    casman.ok("parts", "add", "LNA", "1", "1")
    remote.ok("sync")
    newest = remote.segments()[-1]
    other = next(k for k in remote.segments() if k != newest)
    _replace(remote, newest, remote.body(other))
    _at(monkeypatch, tmp_path / "site-c")
    synced = json.loads(remote.ok("sync", "--json").stdout)
    assert any(newest in line for line in synced["set_aside"])
    assert "LNA00001P1" not in _part_numbers(casman)


def test_repair_with_a_damaged_segment_keeps_the_damaged_file(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repair that cannot get everything from the store still sets the damaged file
    aside with a safety copy, and says what it could not use; nothing is made up."""
    casman = remote.casman
    casman.ok("parts", "add", "ANT", "2", "1")
    remote.ok("sync")
    (segment,) = remote.segments()
    _replace(remote, segment, _flipped(remote.body(segment)))
    damaged = b"\x00" * 4096
    (casman.directory / "parts.db").write_bytes(damaged)
    out = remote.ok("restore").stdout
    assert "parts.db was damaged: set aside" in out and f"✗ set aside: {segment}" in out
    safety = [p for p in (casman.directory / "safety").iterdir() if p.name.endswith(".damaged")]
    assert [p.read_bytes() for p in safety] == [damaged]


# --- configuration errors --------------------------------------------------------------


def test_wrong_bucket(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    remote.casman.ok("parts", "add", "ANT", "1", "1")
    missing = "casman-no-such-bucket-0000"
    monkeypatch.setenv(remote.variables.bucket, missing)
    for command in (("list",), ("backup",), ("sync",), ("push",), ("maintain",), ("restore",)):
        message = _one_line_error(remote.fails(*command))
        assert missing in message and remote.variables.bucket in message, message
    status = json.loads(remote.ok("status", "--json").stdout)
    assert status["reachable"] is False and remote.variables.bucket in status["error"]
    assert f"✗ bucket {missing} does not exist" in remote.ok("status").stdout
    assert remote.objects() == {}


def test_unreachable_endpoint(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    remote.casman.ok("parts", "add", "ANT", "1", "1")
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv(remote.variables.endpoint, endpoint)
    for command in (("list",), ("backup",), ("sync",)):
        message = _one_line_error(remote.fails(*command))
        assert "cannot reach" in message and endpoint in message
        assert remote.variables.endpoint in message, message
    status = json.loads(remote.ok("status", "--json").stdout)
    assert status["reachable"] is False and "cannot reach" in status["error"]
    assert status["automatic"]["pending_changes"] == 1  # the change waits, safe
    if remote.name == "r2":
        # nothing reached a server, so nothing was counted against the free tier
        quota = status["quota"]
        assert quota["class_a"] == 0 and quota["class_b"] == 0


@pytest.mark.parametrize("unset", ["access_key", "secret_key"])
def test_half_missing_credentials(
    remote: Remote, monkeypatch: pytest.MonkeyPatch, unset: str
) -> None:
    remote.casman.ok("parts", "add", "ANT", "1", "1")
    variable = getattr(remote.variables, unset)
    monkeypatch.delenv(variable)
    for command in (("list",), ("backup",), ("sync",), ("status",)):
        message = _one_line_error(remote.fails(*command))
        assert variable in message, message
    assert remote.objects() == {}


def test_no_credentials_at_all(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    remote.casman.ok("parts", "add", "ANT", "1", "1")
    monkeypatch.delenv(remote.variables.access_key)
    monkeypatch.delenv(remote.variables.secret_key)
    message = _one_line_error(remote.fails("backup"))
    assert remote.variables.access_key in message or remote.variables.secret_key in message
    if remote.name == "r2":
        # the required options are checked in order: the first one missing is named
        assert "R2_ACCESS_KEY_ID" in message
    else:  # s3 falls back to the AWS credential chain, which finds nothing here
        assert "AWS_ACCESS_KEY_ID" in message and "AWS_SECRET_ACCESS_KEY" in message
    assert remote.objects() == {}


def test_empty_variable_counts_as_unset(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(remote.variables.secret_key, "  ")
    message = _one_line_error(remote.fails("list"))
    assert remote.variables.secret_key in message


# --- secrets ---------------------------------------------------------------------------


def test_secret_never_printed(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman = remote.casman
    casman.ok("parts", "add", "ANT", "1", "1")
    outputs: list[Result] = []
    outputs.append(remote.ok("status"))
    outputs.append(remote.ok("status", "--json"))
    plugins = casman.ok("plugins", "--json")
    outputs += [plugins, casman.ok("plugins")]
    report = json.loads(plugins.stdout)
    backend = next(b for b in report["backends"] if b["name"] == remote.name)
    secret_option = next(o for o in backend["options"] if o["env"] == remote.variables.secret_key)
    assert secret_option["secret"] is True and secret_option["default"] is None

    monkeypatch.setenv("CASMAN_TRACE_PLUGINS", "1")
    backup = remote.ok("backup")
    trace = f"casman trace: backend={remote.name} op=put key=backups/parts.db/"
    assert trace in backup.stderr
    (checkpoint,) = remote.checkpoints()
    key = str(checkpoint["keys"]["parts.db"])  # type: ignore[index]
    casman.ok("parts", "add", "ANT", "1", "1")
    outputs += [
        backup,
        remote.ok("list"),
        remote.ok("sync", "--dry-run"),
        remote.ok("backup", "--dry-run"),
        remote.ok("push"),
        remote.ok("restore"),
        remote.ok("restore", key, "--output", str(tmp_path / "then")),
        remote.ok("sync"),
        remote.ok("status"),
        remote.ok("maintain", "--deep"),
    ]
    monkeypatch.setenv(remote.variables.bucket, "casman-no-such-bucket-0001")
    outputs += [remote.fails("list"), remote.ok("status")]
    monkeypatch.setenv(remote.variables.endpoint, f"http://127.0.0.1:{free_port()}")
    outputs += [remote.fails("backup")]
    monkeypatch.delenv(remote.variables.access_key)
    outputs += [remote.fails("list"), casman.ok("plugins", "--json")]
    for result in outputs:
        assert_no_secret(result)
    # no file casman writes holds the secret either (databases, sync state, quota, safety)
    for path in [*casman.directory.rglob("*"), *(tmp_path / "then").rglob("*")]:
        if path.is_file():
            assert SECRET[:12].encode() not in path.read_bytes(), path
    for key in remote.objects():
        assert SECRET[:12].encode() not in remote.body(key), key
