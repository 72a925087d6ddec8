"""Endpoint URLs: a malformed one is one line naming the variable; a password never shows.

The CLI cases run ``casman`` in a subprocess with ``-vv`` (logging on), so stdout, stderr
and the log lines are exactly what a user would see.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from casman_s3 import S3Backend
from casman_s3.settings import mask_url, without_userinfo
from casman_s3.testing import closed_port

from casman.storage import BackendConfigError, BackendUnavailableError, StorageError
from casman.testing import (
    describe_settings,
    get_backend_spec,
    mask_url_credentials,
    resolve_options,
)
from casman.testing.moto import FAKE_CREDENTIALS

PASSWORD = "pw-Zq8x-never-shown-7731"
ACCESS = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def with_password(endpoint: str) -> str:
    """``http://host:port`` → ``http://casman:PASSWORD@host:port``."""
    scheme, _, rest = endpoint.partition("://")
    return f"{scheme}://casman:{PASSWORD}@{rest}"


def open_s3(environ: Mapping[str, str]) -> S3Backend:
    spec = get_backend_spec("s3")
    backend = spec.factory(resolve_options(spec, {}, environ))
    assert isinstance(backend, S3Backend)
    return backend


# -- malformed endpoints -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not a url", "contains spaces or control characters"),
        ("localhost:9000", "has no http:// or https:// scheme"),
        ("casman:hunter2-secret@minio:9000", "has no http:// or https:// scheme"),
        ("ftp://x", "uses an unsupported scheme ftp://"),
        ("http://", "has no host"),
        ("https://:9000", "has no host"),
        ("https://minio:99999", "has an invalid port"),
        ("https://minio:port", "has an invalid port"),
        ("https://min_io.lan", "has an invalid host name"),
        ("https://[::1", "is not a valid URL"),
        ("https://minio.lan/?x=1", "must not have a query (?…) or fragment (#…)"),
    ],
)
def test_malformed_endpoint_is_one_line_naming_the_variable(value: str, problem: str) -> None:
    with pytest.raises(BackendConfigError) as caught:
        open_s3({"CASMAN_S3_BUCKET": "b", "CASMAN_S3_ENDPOINT": value})
    message = str(caught.value)
    assert message == (
        f"CASMAN_S3_ENDPOINT (or s3.endpoint in config.yaml) {problem}: set it to an "
        "http:// or https:// URL with a host, e.g. https://minio.example.org:9000"
    )
    assert "hunter2" not in message


@pytest.mark.parametrize(
    "value",
    ["http://127.0.0.1:9000", "https://minio.example.org", "http://[::1]:9000/", " http://a:1 "],
)
def test_valid_endpoints_are_accepted(value: str) -> None:
    backend = open_s3({"CASMAN_S3_BUCKET": "b", "CASMAN_S3_ENDPOINT": value})
    assert backend.endpoint.rstrip("/") == value.strip().rstrip("/")


@pytest.mark.slow
def test_malformed_endpoint_through_the_cli_has_no_traceback(tmp_path: Path) -> None:
    extra = {"CASMAN_S3_ENDPOINT": "not a url"}
    result = run_casman(tmp_path, extra, "sync", "--backend", "s3", "status")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: CASMAN_S3_ENDPOINT (or s3.endpoint in config.yaml) contains spaces or control "
        "characters: set it to an http:// or https:// URL with a host, "
        "e.g. https://minio.example.org:9000\n"
    )


# -- passwords in endpoints --------------------------------------------------------------------


def test_mask_and_strip_userinfo() -> None:
    url = f"https://casman:{PASSWORD}@minio.lan:9000/base"
    assert mask_url(url) == "https://****@minio.lan:9000/base"
    assert without_userinfo(url) == "https://minio.lan:9000/base"
    assert mask_url("https://minio.lan") == "https://minio.lan"


def test_password_is_in_no_repr_or_error() -> None:
    endpoint = with_password(closed_port())
    backend = S3Backend(
        "bucket",
        endpoint=endpoint,
        access_key_id=ACCESS,
        secret_access_key=SECRET,
        max_attempts=1,
    )
    assert backend.endpoint == mask_url(endpoint)
    assert "****@127.0.0.1" in repr(backend)
    assert PASSWORD not in repr(backend)
    assert PASSWORD not in repr(vars(backend))
    assert PASSWORD not in str(backend._client.meta.endpoint_url)  # botocore never has it
    with pytest.raises(BackendUnavailableError) as caught:
        backend.head("k")
    current: BaseException | None = caught.value
    while current is not None:  # the error and every error it was raised from
        assert PASSWORD not in str(current) and PASSWORD not in repr(current)
        current = current.__cause__ or current.__context__
    assert "cannot reach S3 endpoint http://****@127.0.0.1:" in str(caught.value)


def test_describe_settings_masks_passwords_in_any_url() -> None:
    spec = get_backend_spec("s3")
    settings = resolve_options(
        spec,
        {},
        {
            "CASMAN_S3_BUCKET": "b",
            "CASMAN_S3_ENDPOINT": f"https://casman:{PASSWORD}@minio.lan:9000",
            "AWS_SECRET_ACCESS_KEY": SECRET,
        },
    )
    described = describe_settings(spec, settings)
    assert described["endpoint"] == "https://****@minio.lan:9000"
    assert described["bucket"] == "b"
    assert PASSWORD not in repr(described) and SECRET not in repr(described)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://u:p4ss@host/x", "https://****@host/x"),
        ("http://user@host", "http://****@host"),
        ("http://u:se/cret@host", "http://****@host"),  # a "/" in the password
        ("http://u:p@ss@host:1", "http://****@host:1"),  # an unescaped "@" in it
        ("s3 at https://a:b@h and http://c:d@i", "s3 at https://****@h and http://****@i"),
        ("https://h/p?X-Amz-Signature=abc&x=1", "https://h/p?X-Amz-Signature=****&x=1"),
        ("https://h/?token=abc", "https://h/?token=****"),
        ("https://minio.lan:9000", "https://minio.lan:9000"),
        ("user:pass@host", "user:pass@host"),  # not a URL: left to the options' own masking
    ],
)
def test_mask_url_credentials(text: str, shown: str) -> None:
    assert mask_url_credentials(text) == shown


# -- through the CLI ---------------------------------------------------------------------------


def run_casman(
    tmp_path: Path, extra: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``python -m casman ARGS`` in a clean environment with fake AWS credentials."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "CASMAN_", "R2_"))
    }
    environ.update(FAKE_CREDENTIALS)
    environ.update(
        {
            "HOME": str(home),
            "CASMAN_DATABASE_DIR": str(tmp_path / "database"),
            "CASMAN_S3_BUCKET": "casman-cli-test",
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            "CASMAN_S3_MAX_ATTEMPTS": "1",
            "CASMAN_S3_READ_TIMEOUT": "5",
        }
    )
    environ.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "casman", *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_status_never_shows_the_endpoint_password_when_unreachable(tmp_path: Path) -> None:
    endpoint = with_password(closed_port())
    extra = {"CASMAN_S3_ENDPOINT": endpoint}
    result = run_casman(tmp_path, extra, "-vv", "sync", "--backend", "s3", "status")
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout
    assert PASSWORD not in result.stderr
    assert FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in result.stdout + result.stderr
    assert mask_url(endpoint) in result.stdout  # shown, masked
    assert "connection refused" in result.stdout
    assert "backend s3 opened with" in result.stderr  # the log line was written, masked


@pytest.mark.slow
def test_status_never_shows_the_endpoint_password_when_reachable(
    tmp_path: Path, moto_server: str
) -> None:
    from casman.testing.moto import s3_client

    s3_client(moto_server).create_bucket(Bucket="casman-cli-test")
    extra = {"CASMAN_S3_ENDPOINT": with_password(moto_server)}
    result = run_casman(tmp_path, extra, "-vv", "sync", "--backend", "s3", "status")
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout
    assert PASSWORD not in result.stderr
    assert mask_url(with_password(moto_server)) in result.stdout
    assert "not reachable" not in result.stdout


def test_storage_errors_from_a_refused_put_hide_the_password() -> None:
    backend = S3Backend("bucket", endpoint=with_password(closed_port()), max_attempts=1)
    with pytest.raises(StorageError) as caught:
        backend.put("k", b"x", metadata={"a": "b"}, content_md5="AAAA")
    assert PASSWORD not in str(caught.value)
