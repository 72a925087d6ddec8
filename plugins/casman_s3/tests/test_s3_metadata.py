"""Any metadata text survives S3: plain ASCII unchanged, everything else RFC 8187-encoded."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from casman_s3 import S3Backend
from casman_s3.metadata import MARKER, decode_value, encode_value, is_plain

from casman.storage import StorageError, content_md5
from casman.testing.moto import FAKE_CREDENTIALS, s3_client

AWKWARD = {
    "operation": "Ωmega ✓ café",
    "emoji": "backup 🛰️ at 北京",
    "control": "tab\there\nnew line\r\x00nul\x7fdel",
    "edges": "  leading and trailing  ",
    "double": "two  spaces",
    "empty": "",
    "encoded-word": "=?utf-8?b?SGVsbG8=?=",
    "encoded-words": "=?UTF-8?Q?caf=C3=A9?= =?utf-8?b?eA==?=",
    "marker": "UTF-8''%CE%A9mega",
    "marker-lower": "utf-8''plain",
    "marker-alone": "UTF-8''",
    "percent": "100% sure %41",
    "surrogate": "file-\udcff-name",
}
PLAIN = {
    "database": "parts.db",
    "sha256": "ab" * 32,
    "records": "42",
    "timestamp": "2024-01-01T00:00:00Z",
    "host": "casm-site-1.example.org",
    "operation": "Manual backup (scan #12, 3 parts) = ok?",
}


@pytest.mark.parametrize("value", [*AWKWARD.values(), *PLAIN.values()])
def test_every_value_round_trips_through_the_codec(value: str) -> None:
    stored = encode_value(value)
    assert stored.isascii() and stored.isprintable()
    assert stored == stored.strip() and "  " not in stored and "=?" not in stored
    assert decode_value(stored) == value


def test_plain_values_are_stored_unchanged() -> None:
    """Backups written before the encoding existed read back exactly as they did."""
    for value in PLAIN.values():
        assert is_plain(value)
        assert encode_value(value) == value
        assert decode_value(value) == value


def test_encoded_form_is_rfc8187() -> None:
    assert encode_value("Ωmega ✓ café") == "UTF-8''%CE%A9mega%20%E2%9C%93%20caf%C3%A9"
    assert encode_value("") == MARKER
    assert encode_value("UTF-8''x") == "UTF-8''UTF-8%27%27x"  # a look-alike is escaped


def test_malformed_or_foreign_values_are_returned_as_stored() -> None:
    assert decode_value("UTF-8''not%zzvalid") == "UTF-8''not%zzvalid"
    assert decode_value("UTF-8''%FF%FE") == "UTF-8''%FF%FE"  # not UTF-8
    assert decode_value("=?utf-8?b?Y2Fmw6k=?=") == "café"  # written by another tool
    assert decode_value("=?x-unknown?b?Y2Fmw6k=?=") == "=?x-unknown?b?Y2Fmw6k=?="
    assert decode_value("a =?utf-8?b?Y2Fmw6k=?=") == "a =?utf-8?b?Y2Fmw6k=?="


def test_awkward_metadata_round_trips_through_moto(moto_server: str, s3_bucket: str) -> None:
    backend = S3Backend(s3_bucket, endpoint=moto_server)
    metadata = {**AWKWARD, **{f"plain-{k}": v for k, v in PLAIN.items()}}
    put = backend.put("backups/k", b"body", metadata=metadata, content_md5=content_md5(b"body"))
    assert dict(put.metadata) == metadata
    assert dict(backend.head("backups/k").metadata) == metadata
    body, info = backend.get("backups/k")
    assert body == b"body"
    assert dict(info.metadata) == metadata
    raw = s3_client(moto_server).head_object(Bucket=s3_bucket, Key="backups/k")["Metadata"]
    assert raw["operation"] == "UTF-8''%CE%A9mega%20%E2%9C%93%20caf%C3%A9"
    assert raw["plain-database"] == "parts.db"
    assert all(value.isascii() and value.isprintable() for value in raw.values())


def test_rfc2047_values_written_by_another_tool_are_decoded(
    moto_server: str, s3_bucket: str
) -> None:
    """AWS returns non-ASCII values it stored as RFC 2047 encoded words; they read as text."""
    s3_client(moto_server).put_object(
        Bucket=s3_bucket, Key="k", Body=b"x", Metadata={"note": "=?UTF-8?B?Y2Fmw6k=?="}
    )
    assert dict(S3Backend(s3_bucket, endpoint=moto_server).head("k").metadata) == {"note": "café"}


def test_names_are_lower_cased_and_checked_before_sending(moto_server: str, s3_bucket: str) -> None:
    backend = S3Backend(s3_bucket, endpoint=moto_server)
    info = backend.put("k", b"x", metadata={"Record-Count": "1"}, content_md5=content_md5(b"x"))
    assert dict(info.metadata) == {"record-count": "1"}
    assert dict(backend.head("k").metadata) == {"record-count": "1"}
    for name in ("Ωname", "has space", "", "colon:name"):
        with pytest.raises(StorageError) as caught:
            backend.put("k2", b"x", metadata={name: "v"}, content_md5=content_md5(b"x"))
        assert "use lower-case ASCII letters, digits and - _ . only" in str(caught.value)
        assert caught.value.request_sent is False
    assert [o.key for o in backend.list_page("", None, 10).objects] == ["k"]


@pytest.mark.slow
def test_cli_sync_of_non_ascii_text_through_s3(tmp_path: Path, moto_server: str) -> None:
    """Text that is not ASCII (a note 'Ωmega ✓ café') crosses S3 from one site to another
    with ``casman sync --backend s3``, in a segment and in a checkpoint; every metadata value
    casman stores is plain ASCII, so no S3-compatible store can refuse or mangle it."""
    import json
    import sqlite3

    note = "Ωmega ✓ café 🛰️"
    bucket = f"casman-cli-{uuid.uuid4().hex[:12]}"
    client = s3_client(moto_server)
    client.create_bucket(Bucket=bucket)
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CASMAN_", "R2_"))
    }
    environ.update(FAKE_CREDENTIALS)
    environ.update(
        {
            "HOME": str(tmp_path / "home"),
            "CASMAN_AUTO_BACKUP": "false",
            "CASMAN_S3_BUCKET": bucket,
            "CASMAN_S3_ENDPOINT": moto_server,
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        }
    )

    def casman(site: str, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "casman", *args],
            cwd=tmp_path,
            env={**environ, "CASMAN_DATABASE_DIR": str(tmp_path / site)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    casman("a", "parts", "add", "ANTENNA", "1", "1")
    casman("a", "antenna", "assign", "ANT00001", "CN001E01", "--notes", note)
    casman("a", "sync", "--backend", "s3", "backup")
    casman("b", "sync", "--backend", "s3", "sync")
    shown = json.loads(casman("b", "antenna", "show", "ANT00001", "--json"))
    assert shown["position"]["notes"] == note

    listing = json.loads(casman("b", "sync", "--backend", "s3", "list", "--json"))
    (checkpoint,) = listing["checkpoints"]
    body = client.get_object(Bucket=bucket, Key=checkpoint["keys"]["parts.db"])["Body"].read()
    (tmp_path / "checkpoint.db").write_bytes(body)
    connection = sqlite3.connect(tmp_path / "checkpoint.db")
    try:
        assert connection.execute("SELECT notes FROM antenna_positions").fetchall() == [(note,)]
    finally:
        connection.close()
    for item in client.list_objects_v2(Bucket=bucket)["Contents"]:
        raw = client.head_object(Bucket=bucket, Key=item["Key"])["Metadata"]
        assert all(value.isascii() and value.isprintable() for value in raw.values()), raw
