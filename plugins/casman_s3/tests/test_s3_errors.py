"""Every failure is one line naming what to fix, and never shows a secret."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from casman_s3 import Hints, S3Backend
from casman_s3.errors import Context, map_error

from casman.storage import (
    BackendConfigError,
    BackendUnavailableError,
    ChecksumMismatchError,
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
    content_md5,
)
from casman.testing import get_backend_spec, resolve_options
from casman.testing.moto import free_port

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
ACCESS = "AKIAIOSFODNN7EXAMPLE"


def client_error(code: str, status: int, operation: str = "PutObject") -> ClientError:
    response = {
        "Error": {"Code": code, "Message": f"message for {code}"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


def mapped(error: Exception, action: str = "put") -> StorageError:
    ctx = Context(action, "backups/x", "my-bucket", "https://s3.example", Hints())
    return map_error(error, ctx)


def all_text(error: BaseException) -> Iterator[str]:
    """The error and every error it was raised from, as a user or a traceback shows them."""
    current: BaseException | None = error
    while current is not None:
        yield str(current)
        yield repr(current)
        current = current.__cause__ or current.__context__


@pytest.fixture
def keyed(moto_server: str, s3_bucket: str) -> S3Backend:
    """A backend given explicit (fake) keys, so a leak of the secret would be visible."""
    return S3Backend(
        s3_bucket, endpoint=moto_server, access_key_id=ACCESS, secret_access_key=SECRET
    )


def test_wrong_bucket_names_the_variable(moto_server: str, s3_bucket: str) -> None:
    backend = S3Backend("no-such-casman-bucket", endpoint=moto_server)
    with pytest.raises(BackendConfigError) as caught:
        backend.list_page("", None, 10)
    assert str(caught.value) == (
        "bucket no-such-casman-bucket does not exist; check CASMAN_S3_BUCKET"
    )
    with pytest.raises(BackendConfigError, match="does not exist"):
        backend.put("k", b"x", metadata={}, content_md5=content_md5(b"x"))


def test_unreachable_endpoint_names_the_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    backend = S3Backend(
        "bucket",
        endpoint=endpoint,
        access_key_id=ACCESS,
        secret_access_key=SECRET,
        max_attempts=1,
        connect_timeout=2,
    )
    with pytest.raises(BackendUnavailableError) as caught:
        backend.head("k")
    message = str(caught.value)
    assert endpoint in message
    assert "CASMAN_S3_ENDPOINT" in message
    assert "\n" not in message
    assert getattr(caught.value, "request_sent", True) is False
    assert all(SECRET not in text for text in all_text(caught.value))


def test_corrupted_content_md5_is_refused_and_nothing_stored(keyed: S3Backend) -> None:
    with pytest.raises(ChecksumMismatchError) as caught:
        keyed.put("backups/x", b"real", metadata={}, content_md5=content_md5(b"fake"))
    with pytest.raises(ObjectNotFoundError):
        keyed.head("backups/x")
    assert all(SECRET not in text for text in all_text(caught.value))


def test_server_side_bad_digest_maps_to_checksum_mismatch() -> None:
    for code in ("BadDigest", "InvalidDigest"):
        error = mapped(client_error(code, 400))
        assert isinstance(error, ChecksumMismatchError)
        assert "nothing was stored" in str(error)
        assert getattr(error, "request_sent", None) is True


@pytest.mark.parametrize("code", ["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"])
def test_access_denied_names_the_credential_variables(code: str) -> None:
    error = mapped(client_error(code, 403))
    assert isinstance(error, BackendUnavailableError)
    assert str(error).startswith("access denied to S3 bucket my-bucket")
    assert str(error).endswith("check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")


def test_no_credentials_names_the_variables() -> None:
    error = mapped(NoCredentialsError())
    assert isinstance(error, BackendConfigError)
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in str(error)
    assert getattr(error, "request_sent", None) is False


def test_missing_key_and_precondition() -> None:
    assert isinstance(mapped(client_error("404", 404, "HeadObject"), "head"), ObjectNotFoundError)
    assert isinstance(
        mapped(client_error("NoSuchKey", 404, "GetObject"), "get"), ObjectNotFoundError
    )
    assert isinstance(mapped(client_error("PreconditionFailed", 412)), PreconditionFailedError)


def test_hints_change_the_named_variables() -> None:
    hints = Hints(
        service="R2",
        bucket="R2_BUCKET_NAME",
        access_key="R2_ACCESS_KEY_ID",
        secret_key="R2_SECRET_ACCESS_KEY",
        endpoint="R2_ENDPOINT",
    )
    ctx = Context("list", "", "b", "https://x", hints)
    assert str(map_error(client_error("NoSuchBucket", 404), ctx)) == (
        "bucket b does not exist; check R2_BUCKET_NAME"
    )
    assert "R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY" in str(
        map_error(client_error("AccessDenied", 403), ctx)
    )


def test_no_secret_in_any_error_or_repr(keyed: S3Backend) -> None:
    errors: list[BaseException] = []
    for call in (
        lambda: keyed.get("missing"),
        lambda: keyed.head("missing"),
        lambda: keyed.put("k", b"1", metadata={}, content_md5=content_md5(b"2")),
        lambda: S3Backend(
            "nope-bucket", endpoint=keyed.endpoint, access_key_id=ACCESS, secret_access_key=SECRET
        ).list_page("", None, 1),
    ):
        with pytest.raises(StorageError) as caught:
            call()
        errors.append(caught.value)
    keyed.put("k", b"1", metadata={}, content_md5=content_md5(b"1"))
    with pytest.raises(PreconditionFailedError) as caught:
        keyed.put("k", b"2", metadata={}, content_md5=content_md5(b"2"), if_none_match="*")
    errors.append(caught.value)
    for error in errors:
        for text in all_text(error):
            assert SECRET not in text
    assert SECRET not in repr(keyed)
    assert SECRET not in repr(vars(keyed))


def test_body_over_single_put_limit_is_refused_before_sending(keyed: S3Backend) -> None:
    small = S3Backend(keyed.bucket, endpoint=keyed.endpoint, max_single_put_bytes=4)
    with pytest.raises(StorageError, match="at most 4 bytes"):
        small.put("k", b"12345", metadata={}, content_md5=content_md5(b"12345"))


def test_factory_requires_a_bucket_and_both_keys() -> None:
    spec = get_backend_spec("s3")
    with pytest.raises(BackendConfigError, match="CASMAN_S3_BUCKET"):
        resolve_options(spec, {}, {})
    with pytest.raises(BackendConfigError, match="set AWS_SECRET_ACCESS_KEY too") as caught:
        spec.factory({"bucket": "b", "access_key_id": ACCESS})
    assert ACCESS not in str(caught.value)


def test_importing_the_plugin_does_not_import_boto3() -> None:
    code = (
        "import sys, casman_s3.plugin, casman_s3;"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
