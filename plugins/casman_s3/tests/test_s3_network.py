"""Bounded waiting, ``max_bytes`` and ``request_sent``, against real sockets on 127.0.0.1.

Each misbehaving store is a real listening socket (casman_s3.testing): a blackhole that
accepts and never answers, a full accept queue (connect timeout), a closed port, a server
answering 500 or announcing a 3 GB body. The client goes through botocore's whole stack.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from casman_s3 import S3Backend
from casman_s3.settings import Network
from casman_s3.testing import answering, blackhole, closed_port, full_backlog

from casman.storage import (
    BackendConfigError,
    BackendUnavailableError,
    ObjectNotFoundError,
    ObjectTooLargeError,
    PreconditionFailedError,
    StorageError,
    content_md5,
)
from casman.testing import get_backend_spec, resolve_options

ACCESS = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def s3_environ(endpoint: str, **extra: str) -> dict[str, str]:
    return {
        "CASMAN_S3_BUCKET": "bucket",
        "CASMAN_S3_ENDPOINT": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        **extra,
    }


def open_s3(environ: Mapping[str, str]) -> S3Backend:
    """Through the registered spec, as casman opens it: env → options → factory."""
    spec = get_backend_spec("s3")
    backend = spec.factory(resolve_options(spec, {}, environ))
    assert isinstance(backend, S3Backend)
    return backend


def direct(
    endpoint: str,
    *,
    connect_timeout: float = 5.0,
    read_timeout: float = 20.0,
    max_attempts: int = 3,
) -> S3Backend:
    return S3Backend(
        "bucket",
        endpoint=endpoint,
        access_key_id=ACCESS,
        secret_access_key=SECRET,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_attempts=max_attempts,
    )


def one_line(error: BaseException) -> str:
    message = str(error)
    assert message and "\n" not in message
    assert SECRET not in message and SECRET not in repr(error)
    return message


# -- bounded waiting -----------------------------------------------------------------------


def test_blackholed_head_fails_within_the_read_timeout_set_by_environment() -> None:
    """CASMAN_S3_READ_TIMEOUT=1, CASMAN_S3_MAX_ATTEMPTS=1: one BackendUnavailableError in ~1 s.

    Before, the options did not exist: a HEAD waited 60 s × 4 attempts.
    """
    with blackhole() as server:
        backend = open_s3(
            s3_environ(server.url, CASMAN_S3_READ_TIMEOUT="1", CASMAN_S3_MAX_ATTEMPTS="1")
        )
        with pytest.raises(BackendUnavailableError) as caught:
            backend.head("backups/x")
    # One connection, never answered, ended by the 1 s read timeout the message names:
    # the facts that bound the wait, checked without a stopwatch a busy machine can break.
    assert server.connections == 1
    message = one_line(caught.value)
    assert message == (
        f"S3 endpoint {server.url} did not answer within 1 s; try again later or raise "
        "CASMAN_S3_READ_TIMEOUT"
    )
    assert caught.value.request_sent is True  # the request was sent, only never answered


def test_max_attempts_counts_every_attempt_exactly() -> None:
    """max_attempts=2 makes two connections, not three (botocore's max_attempts is retries)."""
    with blackhole() as server:
        backend = direct(server.url, read_timeout=0.5, max_attempts=2)
        with pytest.raises(BackendUnavailableError, match=r"within 0\.5 s \(2 attempts\)"):
            backend.head("k")
    assert server.connections == 2


def test_config_values_and_core_overrides_are_honoured_exactly() -> None:
    """Numbers from config.yaml, or from the core for automatic backups, are used as given."""
    spec = get_backend_spec("s3")
    section = {"read_timeout": 2.5, "connect_timeout": 0.25, "max_attempts": 4}
    options = resolve_options(spec, section, s3_environ("http://127.0.0.1:9"))
    backend = spec.factory(options)
    assert isinstance(backend, S3Backend)
    assert backend.network == Network(connect_timeout=0.25, read_timeout=2.5, max_attempts=4)
    config = backend._client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (0.25, 2.5)
    assert config.retries["total_max_attempts"] == 4
    override = spec.factory({**options, "read_timeout": 1, "max_attempts": 1})
    assert isinstance(override, S3Backend)
    assert override.network == Network(connect_timeout=0.25, read_timeout=1.0, max_attempts=1)


def test_defaults_bound_the_worst_case() -> None:
    """Defaults 5 s / 20 s / 1 botocore attempt (casman's host retries, up to 3 times): a
    silent server costs 20 s per attempt, anything at most 25 s per attempt."""
    backend = open_s3(s3_environ("http://127.0.0.1:9"))
    assert backend.network == Network(connect_timeout=5.0, read_timeout=20.0, max_attempts=1)
    config = backend._client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (5.0, 20.0)
    assert config.retries == {"total_max_attempts": 1, "mode": "standard"}
    silent = backend.network.max_attempts * backend.network.read_timeout
    assert silent == 20.0
    assert backend.network.worst_case_seconds() == 25.0  # 1 × (5 + 20)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CASMAN_S3_READ_TIMEOUT", "abc"),
        ("CASMAN_S3_READ_TIMEOUT", "0"),
        ("CASMAN_S3_READ_TIMEOUT", "-1"),
        ("CASMAN_S3_READ_TIMEOUT", "nan"),
        ("CASMAN_S3_CONNECT_TIMEOUT", "inf"),
        ("CASMAN_S3_CONNECT_TIMEOUT", "1e9"),
        ("CASMAN_S3_MAX_ATTEMPTS", "0"),
        ("CASMAN_S3_MAX_ATTEMPTS", "11"),
        ("CASMAN_S3_MAX_ATTEMPTS", "2.5"),
        ("CASMAN_S3_MAX_ATTEMPTS", "three"),
    ],
)
def test_invalid_network_options_are_one_line_naming_the_variable(
    variable: str, value: str
) -> None:
    with pytest.raises(BackendConfigError) as caught:
        open_s3(s3_environ("http://127.0.0.1:9", **{variable: value}))
    message = one_line(caught.value)
    option = variable.removeprefix("CASMAN_S3_").lower()
    assert message.startswith(f"{variable} (or s3.{option} in config.yaml) must be ")


def test_invalid_config_values_name_the_config_key() -> None:
    spec = get_backend_spec("s3")
    for section in ({"read_timeout": True}, {"max_attempts": [3]}, {"connect_timeout": "5s"}):
        options = resolve_options(spec, section, s3_environ("http://127.0.0.1:9"))
        with pytest.raises(BackendConfigError, match=r"in config\.yaml\) must be "):
            spec.factory(options)


# -- request_sent ----------------------------------------------------------------------------


def test_connection_refused_was_not_sent() -> None:
    endpoint = closed_port()
    with pytest.raises(BackendUnavailableError) as caught:
        direct(endpoint, max_attempts=1).head("k")
    assert one_line(caught.value) == (
        f"cannot reach S3 endpoint {endpoint}: connection refused; check CASMAN_S3_ENDPOINT "
        "and the network"
    )
    assert caught.value.request_sent is False


def test_connect_timeout_was_not_sent() -> None:
    with full_backlog() as endpoint:
        backend = direct(endpoint, connect_timeout=0.5, max_attempts=1)
        with pytest.raises(BackendUnavailableError) as caught:
            backend.put("k", b"x", metadata={}, content_md5=content_md5(b"x"))
    assert one_line(caught.value) == (
        f"cannot reach S3 endpoint {endpoint}: no connection within 0.5 s; check "
        "CASMAN_S3_ENDPOINT and the network, or raise CASMAN_S3_CONNECT_TIMEOUT"
    )
    assert caught.value.request_sent is False


def test_unresolvable_host_was_not_sent() -> None:
    """``.invalid`` never resolves (RFC 6761)."""
    endpoint = "http://casman-no-such-host.invalid:9000"
    with pytest.raises(BackendUnavailableError) as caught:
        direct(endpoint, max_attempts=1).head("k")
    assert "host name not found; check CASMAN_S3_ENDPOINT" in one_line(caught.value)
    assert caught.value.request_sent is False


def test_http_500_was_sent() -> None:
    body = b"<Error><Code>InternalError</Code></Error>"
    with answering(500, body=body) as server, pytest.raises(BackendUnavailableError) as caught:
        direct(server.url, max_attempts=1).head("k")
    assert server.requests == ["HEAD /bucket/k HTTP/1.1"]
    assert one_line(caught.value) == (f"S3 at {server.url} is unavailable (500); try again later")
    assert caught.value.request_sent is True


def test_answered_then_refused_is_still_sent() -> None:
    """Attempt 1 reached the server (500, billed); the retry found the port closed.

    The last exception alone (connection refused) would say "not sent"; the bill says
    otherwise, so the backend remembers every attempt of the call.
    """
    refused = pytest.raises(BackendUnavailableError, match="connection refused")
    with answering(500, then_close_port=True) as server, refused as caught:
        direct(server.url, max_attempts=2).head("k")
    assert len(server.requests) == 1
    assert caught.value.request_sent is True


def test_not_found_and_precondition_answers_were_sent(moto_server: str, s3_bucket: str) -> None:
    backend = S3Backend(s3_bucket, endpoint=moto_server)
    with pytest.raises(ObjectNotFoundError) as missing:
        backend.head("no/such/key")
    assert missing.value.request_sent is True
    backend.put("k", b"1", metadata={}, content_md5=content_md5(b"1"))
    with pytest.raises(PreconditionFailedError) as refused:
        backend.put("k", b"2", metadata={}, content_md5=content_md5(b"2"), if_none_match="*")
    assert refused.value.request_sent is True
    backend.head("k")  # a success leaves nothing behind for the next call's verdict
    with pytest.raises(StorageError) as local:
        backend.put("k", b"3", metadata={}, content_md5=content_md5(b"not 3"))
    assert local.value.request_sent is False


# -- get(max_bytes) ----------------------------------------------------------------------------


def test_get_refuses_from_content_length_without_reading_the_body() -> None:
    """A server announcing 3 GB, sending 3 bytes and then nothing: refused at once.

    Reading the body would wait for bytes that never come (read timeout 10 s here) or, from
    a real store, fill memory; the refusal comes from the headers alone.
    """
    headers: dict[str, str | None] = {"Content-Length": str(3 * 1024**3), "ETag": '"abc"'}
    with answering(200, headers=headers, body=b"abc", hang_after_body=True) as server:
        backend = direct(server.url, read_timeout=10, max_attempts=1)
        # reading the body would end in the read timeout (BackendUnavailableError), not this
        with pytest.raises(ObjectTooLargeError) as caught:
            backend.get("backups/huge", max_bytes=1024 * 1024)
    assert one_line(caught.value) == (
        "backups/huge is 3,221,225,472 bytes, more than the 1,048,576 allowed; "
        "it was not downloaded"
    )
    assert caught.value.request_sent is True  # the GET itself was sent (and billed)


def test_get_without_content_length_stops_at_the_limit() -> None:
    """A chunked body (no Content-Length) is read only up to the limit, then refused."""
    chunk = b"x" * 4096
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    headers: dict[str, str | None] = {"Content-Length": None, "Transfer-Encoding": "chunked"}
    with answering(200, headers=headers, body=body) as server:
        backend = direct(server.url, max_attempts=1)
        with pytest.raises(ObjectTooLargeError, match="larger than the 5,000 bytes allowed"):
            backend.get("k", max_bytes=5000)
        data, info = backend.get("k", max_bytes=len(chunk) * 4)
    assert data == chunk * 4
    assert info.size == len(chunk) * 4


def test_get_within_max_bytes_through_moto(moto_server: str, s3_bucket: str) -> None:
    backend = S3Backend(s3_bucket, endpoint=moto_server)
    body = bytes(range(256)) * 8
    backend.put("k", body, metadata={"a": "b"}, content_md5=content_md5(body))
    assert backend.get("k", max_bytes=len(body))[0] == body
    with pytest.raises(ObjectTooLargeError):
        backend.get("k", max_bytes=len(body) - 1)
    got, info = backend.get("k")
    assert (got, dict(info.metadata)) == (body, {"a": "b"})
