"""``casman sync`` against ``s3`` and ``r2`` on the session moto server, over real HTTP.

Each backend is configured only through its documented environment variables; every
command's stdout and stderr is checked for the (distinctive, fake) secret key.
"""

from __future__ import annotations

import json
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
        assert result.exit_code == 0, result.output
        return result

    def fails(self, *args: str, code: int = 1) -> Result:
        result = self(*args)
        assert result.exit_code == code, (result.exit_code, result.output)
        assert "Traceback" not in result.output
        return result

    def keys(self, db: str = "parts.db") -> list[str]:
        listing = json.loads(self.ok("list", "--db", db, "--json").stdout)
        return [entry["key"] for entry in listing]

    def objects(self) -> dict[str, str]:
        """Every backup object in the bucket with its ETag, read behind casman's back (the
        heads, ``backups/{db}/HEAD.json``, are left out)."""
        client = s3_client(self.endpoint)
        found: dict[str, str] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/HEAD.json"):
                    found[item["Key"]] = item["ETag"]
        return found


def configure(monkeypatch: pytest.MonkeyPatch, name: str, bucket: str, endpoint: str) -> Variables:
    """Set (only) the documented variables of backend ``name``; unset everything else."""
    for variable in _SCRUBBED:
        monkeypatch.delenv(variable, raising=False)
    # botocore must never wait for an instance-metadata service while looking for creds
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
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
    return [p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").stdout)]


def _one_line_error(result: Result, *, quiet: bool = True) -> str:
    """The failure is one ``Error:`` line on stderr (and, if ``quiet``, nothing on stdout)."""
    if quiet:
        assert result.stdout == "", result.stdout
    assert result.stderr.startswith("Error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


# --- backup / list / restore -----------------------------------------------------------


def test_backup_list_damage_restore(remote: Remote) -> None:
    casman = remote.casman
    add_all_types(casman, 2, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    out = remote.ok("backup").stdout
    assert "parts.db: backed up to backups/parts.db/" in out
    assert "assembled_casm.db: backed up to backups/assembled_casm.db/" in out
    assert set(remote.objects()) == set(remote.keys("parts.db") + remote.keys("assembled_casm.db"))

    listing = json.loads(remote.ok("list", "--json").stdout)
    assert {entry["database"] for entry in listing} == {"parts.db", "assembled_casm.db"}
    for entry in listing:
        assert {"key", "database", "timestamp", "size", "records", "operation", "sha256"} <= set(
            entry
        )
        assert entry["key"].startswith(f"backups/{entry['database']}/")
        assert entry["timestamp"].endswith("Z") or "+00:00" in entry["timestamp"]
        assert isinstance(entry["size"], int) and entry["size"] > 0
        assert len(entry["sha256"]) == 64
        assert entry["operation"] == "Manual backup"
    parts_entry = next(e for e in listing if e["database"] == "parts.db")
    assert parts_entry["records"] == 10
    assert parts_entry["size"] == len(
        s3_client(remote.endpoint)
        .get_object(Bucket=remote.bucket, Key=parts_entry["key"])["Body"]
        .read()
    )
    text = remote.ok("list").stdout
    assert f"Available Backups ({len(listing)})" in text and parts_entry["key"] in text

    before = _part_numbers(casman)
    (casman.directory / "parts.db").write_bytes(b"\x00" * 4096)  # damage
    casman.fails("parts", "list")
    out = remote.ok("restore", parts_entry["key"], "--no-backup").stdout
    assert f"restored parts.db from {parts_entry['key']} (10 records)" in out
    assert _part_numbers(casman) == before
    assert len(remote.keys()) == 1  # --no-backup: no remote safety backup
    safety = [p for p in (casman.directory / "safety").iterdir() if p.is_file()]
    assert any(p.read_bytes() == b"\x00" * 4096 for p in safety)


def test_restore_keeps_a_remote_safety_backup_without_no_backup(remote: Remote) -> None:
    casman = remote.casman
    casman.ok("parts", "add", "ANT", "1", "1")
    remote.ok("backup", "--parts")
    (old,) = remote.keys()
    casman.ok("parts", "add", "ANT", "2", "1")
    out = remote.ok("restore", old).stdout
    assert "remote safety backup: backups/parts.db/" in out
    assert _part_numbers(casman) == ["ANT00001P1"]
    newest = json.loads(remote.ok("list", "--db", "parts.db", "--json").stdout)[0]
    assert newest["records"] == 3 and "safety backup before restore" in newest["operation"]


# --- sync between two sites ------------------------------------------------------------


def test_sync_between_two_database_directories(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman = remote.casman
    site_a, site_b = casman.directory, tmp_path / "site-b"

    def at(site: Path) -> None:
        monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site))

    casman.ok("parts", "add", "ANT", "1", "1")
    remote.ok("backup")
    at(site_b)
    out = remote.ok("sync").stdout
    assert "✓ parts.db (no local database): fast-forwarded to backups/parts.db/" in out
    assert _part_numbers(casman) == ["ANT00001P1"]
    assert "nothing to do" in remote.ok("sync").stdout

    # A moves on; B (unchanged) fast-forwards
    at(site_a)
    casman.ok("parts", "add", "ANT", "1", "1")
    remote.ok("backup")
    at(site_b)
    synced = json.loads(remote.ok("sync", "--json").stdout)
    by_db = {item["database"]: item for item in synced}
    assert by_db["parts.db"]["relation"] == "behind" and by_db["parts.db"]["downloaded"]
    assert _part_numbers(casman) == ["ANT00001P1", "ANT00002P1"]

    # both change: merged, nothing lost on either side
    casman.ok("parts", "add", "LNA", "1", "1")
    at(site_a)
    casman.ok("parts", "add", "ANT", "1", "1")
    remote.ok("backup")
    at(site_b)
    status = json.loads(remote.ok("status", "--json").stdout)
    assert {d["db_name"]: d["relation"] for d in status["databases"]}["parts.db"] == "diverged"
    out = remote.ok("sync", "--parts").stdout
    assert "✓ parts.db (diverged): merged" in out and "local safety copy:" in out
    expected = ["ANT00001P1", "ANT00002P1", "ANT00003P1", "LNA00001P1"]
    assert _part_numbers(casman) == expected
    at(site_a)
    remote.ok("sync", "--parts")
    assert _part_numbers(casman) == expected


# --- status and maintain ---------------------------------------------------------------


def test_status_and_maintain(remote: Remote) -> None:
    casman = remote.casman
    casman.ok("parts", "add", "ANT", "1", "1")
    text = remote.ok("status").stdout
    assert f"✓ {remote.name} backend reachable" in text and "no remote backup" in text
    remote.ok("backup")
    status = json.loads(remote.ok("status", "--json").stdout)
    assert status["backend"] == remote.name
    assert status["reachable"] is True and status["error"] is None
    assert [d["relation"] for d in status["databases"]] == ["in sync", "in sync"]
    assert all(d["newest_backup"] and d["last_synced"] for d in status["databases"])
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
        assert quota["class_a"] > 0 and quota["class_b"] >= 0
        assert quota["backups"] == 2
        stored = sum(
            item["Size"]
            for item in s3_client(remote.endpoint).list_objects_v2(Bucket=remote.bucket)["Contents"]
        )
        assert quota["storage_bytes"] == stored
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

    report = json.loads(remote.ok("maintain", "--json").stdout)
    assert sorted(report["verified"]) == sorted(remote.objects())
    assert report["problems"] == {} and report["deleted"] == []
    assert "✓ 2 backup(s) verified" in remote.ok("maintain").stdout


@pytest.mark.parametrize("remote", ["s3"], indirect=True)
def test_no_quota_tracker_for_a_backend_without_limits(remote: Remote) -> None:
    """Regression: backup/restore events used to create .s3_quota_tracker.json regardless."""
    remote.casman.ok("parts", "add", "ANT", "1", "1")
    remote.ok("backup")
    (key,) = remote.keys()
    remote.ok("restore", key, "--no-backup")
    assert not list(remote.casman.directory.glob(".*quota_tracker.json*"))


def test_maintain_reports_a_backup_whose_metadata_lies(remote: Remote) -> None:
    remote.casman.ok("parts", "add", "ANT", "1", "1")
    remote.ok("backup", "--parts")
    (key,) = remote.keys()
    client = s3_client(remote.endpoint)
    head = client.head_object(Bucket=remote.bucket, Key=key)
    body = client.get_object(Bucket=remote.bucket, Key=key)["Body"].read()
    client.put_object(Bucket=remote.bucket, Key=key, Body=body + b"x", Metadata=head["Metadata"])
    result = remote.fails("maintain")
    assert f"✗ {key}: metadata size" in result.stdout
    assert "failed verification" in _one_line_error(result, quiet=False)


# --- corrupted objects -----------------------------------------------------------------


def _corrupt(remote: Remote, key: str) -> None:
    """Different bytes, same size, the original metadata (sha256 included)."""
    client = s3_client(remote.endpoint)
    head = client.head_object(Bucket=remote.bucket, Key=key)
    body = bytearray(client.get_object(Bucket=remote.bucket, Key=key)["Body"].read())
    body[-100] ^= 0xFF
    client.put_object(Bucket=remote.bucket, Key=key, Body=bytes(body), Metadata=head["Metadata"])
    after = client.head_object(Bucket=remote.bucket, Key=key)
    assert after["Metadata"] == head["Metadata"]
    assert after["ContentLength"] == head["ContentLength"]
    assert after["ETag"] != head["ETag"]


def _leftovers(directory: Path) -> list[Path]:
    return [p for p in directory.glob(".*") if p.suffix in (".restore", ".snapshot")]


def test_corrupted_object_is_refused_by_restore_and_sync(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    casman = remote.casman
    casman.ok("parts", "add", "ANT", "2", "1")
    remote.ok("backup", "--parts")
    (key,) = remote.keys()
    _corrupt(remote, key)

    # restore, at the site that made the backup (which has changed since)
    casman.ok("parts", "add", "ANT", "1", "1")
    local = casman.directory / "parts.db"
    raw_before = local.read_bytes()
    for args in (("--no-backup",), ()):
        result = remote.fails("restore", key, *args)
        message = _one_line_error(result)
        assert "is corrupt: its SHA-256" in message and "not restored" in message
        assert local.read_bytes() == raw_before
    assert not _leftovers(casman.directory)
    assert remote.keys() == [key]  # the refused restore sent no safety backup either

    # sync at another site that has its own parts.db (a merge needs the corrupt version)
    site_b = tmp_path / "site-b"
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_b))
    casman.ok("parts", "add", "LNA", "3", "1")
    b_before = (site_b / "parts.db").read_bytes()
    result = remote.fails("sync", "--parts")
    assert "is corrupt: its SHA-256" in _one_line_error(result)
    assert (site_b / "parts.db").read_bytes() == b_before
    assert not _leftovers(site_b)

    # and at a site with no database at all: nothing is created
    site_c = tmp_path / "site-c"
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(site_c))
    result = remote.fails("sync", "--parts")
    assert "is corrupt" in _one_line_error(result)
    assert not (site_c / "parts.db").exists()


# --- configuration errors --------------------------------------------------------------


def test_wrong_bucket(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    remote.casman.ok("parts", "add", "ANT", "1", "1")
    missing = "casman-no-such-bucket-0000"
    monkeypatch.setenv(remote.variables.bucket, missing)
    for command in (("list",), ("backup",), ("sync",), ("maintain",)):
        message = _one_line_error(remote.fails(*command))
        assert missing in message and remote.variables.bucket in message, message
    status = json.loads(remote.ok("status", "--json").stdout)
    assert status["reachable"] is False and remote.variables.bucket in status["error"]
    assert "backend not reachable" in remote.ok("status").stdout


def test_unreachable_endpoint(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    remote.casman.ok("parts", "add", "ANT", "1", "1")
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv(remote.variables.endpoint, endpoint)
    for command in (("list",), ("backup", "--parts")):
        message = _one_line_error(remote.fails(*command))
        assert "cannot reach" in message and endpoint in message
        assert remote.variables.endpoint in message, message
    status = json.loads(remote.ok("status", "--json").stdout)
    assert status["reachable"] is False and "cannot reach" in status["error"]
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
    for command in (("list",), ("backup",), ("status",)):
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


def test_secret_never_printed(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
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
    backup = remote.ok("backup", "--parts")
    assert f"casman trace: backend={remote.name} op=put key=backups/parts.db/" in backup.stderr
    (key,) = remote.keys()
    outputs += [
        backup,
        remote.ok("list"),
        remote.ok("restore", key),
        remote.ok("sync"),
        remote.ok("status"),
        remote.ok("maintain"),
        remote.ok("backup", "--dry-run"),
    ]
    monkeypatch.setenv(remote.variables.bucket, "casman-no-such-bucket-0001")
    outputs += [remote.fails("list"), remote.ok("status")]
    monkeypatch.setenv(remote.variables.endpoint, f"http://127.0.0.1:{free_port()}")
    outputs += [remote.fails("backup")]
    monkeypatch.delenv(remote.variables.access_key)
    outputs += [remote.fails("list"), casman.ok("plugins", "--json")]
    for result in outputs:
        assert_no_secret(result)
    # the state files casman writes hold no secret either
    for path in casman.directory.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".lock", ""):
            assert SECRET.encode() not in path.read_bytes(), path
