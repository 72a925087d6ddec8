"""pytest fixtures for S3-style plugin tests: one moto server on loopback per session.

A backend is tested over real HTTP (the same botocore code path as production), not
through moto's in-process patching, so retries, timeouts and error parsing are exercised.

Use it from a plugin's ``conftest.py`` either as a pytest plugin (in a top-level conftest)::

    pytest_plugins = ["casman.testing.moto"]

or, from a conftest below the rootdir (where pytest refuses ``pytest_plugins``), by
importing the fixtures::

    from casman.testing.moto import moto_server, s3_bucket  # noqa: F401

moto and boto3 are imported inside the fixtures, so importing this module costs nothing
for a plugin whose tests never use them. The server is shared by every conftest that
imports these fixtures, so a test run starts it at most once.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing-access-key",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-key",
    "AWS_SESSION_TOKEN": "testing-session-token",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""Fake credentials so neither boto3 nor the backend under test finds a real account."""

_lock = threading.Lock()
_server: Any = None
_endpoint: str | None = None
_users = 0


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _acquire() -> str:
    global _server, _endpoint, _users
    with _lock:
        if _server is None:
            from moto.server import ThreadedMotoServer

            port = free_port()
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
            _server, _endpoint = server, f"http://127.0.0.1:{port}"
        _users += 1
        assert _endpoint is not None
        return _endpoint


def _release() -> None:
    global _server, _endpoint, _users
    with _lock:
        _users -= 1
        if _users == 0 and _server is not None:
            _server.stop()
            _clients.pop(_endpoint or "", None)
            _server, _endpoint = None, None


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The endpoint URL (``http://127.0.0.1:PORT``) of a moto server shared by the session."""
    endpoint = _acquire()
    try:
        yield endpoint
    finally:
        _release()


_clients: dict[str, Any] = {}


def s3_client(endpoint: str) -> Any:
    """A plain boto3 S3 client on ``endpoint`` with the fake credentials (for test setup).

    Cached per endpoint: building a client costs more than most moto requests.
    """
    with _lock:
        if endpoint not in _clients:
            _clients[endpoint] = _make_client(endpoint)
        return _clients[endpoint]


def _make_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=FAKE_CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def s3_bucket(moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> str:
    """A new, empty bucket on the moto server; its name is unique to the test.

    The environment gets fake AWS credentials and no profile or config file, so a
    developer's real ``~/.aws`` is never read and no real account can be reached.
    """
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    bucket = f"casman-test-{uuid.uuid4().hex[:16]}"
    s3_client(moto_server).create_bucket(Bucket=bucket)
    return bucket
