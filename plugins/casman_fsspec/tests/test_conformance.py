"""Backend ``fsspec`` passes casman's conformance suite on each filesystem it names:
``memory://``, ``file://``, ``sftp://`` (a real SFTP server on 127.0.0.1) and ``s3://``
through s3fs (a moto server on 127.0.0.1). Each runs with the capabilities the backend
declares for that URL, so conditional writes are tested wherever they are claimed."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from casman_fsspec.backend import FsspecBackend

from casman.testing import BackendConformance
from casman.testing.moto import FAKE_CREDENTIALS

from .conftest import SFTPLogin


class TestMemoryConformance(BackendConformance):
    backend_name = "fsspec"

    @pytest.fixture
    def backend(self) -> FsspecBackend:
        return FsspecBackend(f"memory://casman-test-{uuid.uuid4().hex}")


class TestFileConformance(BackendConformance):
    backend_name = "fsspec"

    @pytest.fixture
    def backend(self, tmp_path: Path) -> FsspecBackend:
        return FsspecBackend(f"file://{tmp_path / 'store'}")


class TestSFTPConformance(BackendConformance):
    """Once through paramiko, once through sshfs: whichever class fsspec resolves."""

    backend_name = "fsspec"

    @pytest.fixture
    def backend(self, sftp: SFTPLogin) -> FsspecBackend:
        folder = f"store-{uuid.uuid4().hex[:12]}"
        backend = FsspecBackend(sftp.url(folder), sftp.options())
        assert backend.capabilities.conditional_writes, sftp.implementation
        return backend


def s3_options(endpoint: str) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint,
        "key": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "secret": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


class TestS3ThroughS3fsConformance(BackendConformance):
    backend_name = "fsspec"

    @pytest.fixture
    def backend(self, moto_server: str, s3_bucket: str) -> FsspecBackend:
        return FsspecBackend(f"s3://{s3_bucket}/casman", s3_options(moto_server))


def test_each_filesystem_declares_what_it_guarantees(tmp_path: Path) -> None:
    memory = FsspecBackend("memory://x")
    assert memory.capabilities.conditional_writes and memory.capabilities.etag == "md5"
    assert FsspecBackend(f"file://{tmp_path}").capabilities.conditional_writes
    s3 = FsspecBackend("s3://bucket/prefix", {"anon": True})
    assert s3.capabilities.conditional_writes and s3.capabilities.etag == "opaque"
    assert s3.capabilities.max_single_put_bytes == 5 * 1024**3
