"""Servers on 127.0.0.1 from casman.testing: SFTP (asyncssh) and S3 (moto), per session.

Imported rather than named in ``pytest_plugins``: pytest only accepts ``pytest_plugins``
in the top-level conftest, and this one sits below the repository's rootdir.

``sftp`` runs a test once per SFTP implementation fsspec may resolve ``sftp://`` to:
paramiko's ``SFTPFileSystem`` (fsspec's own) and sshfs's ``SSHFileSystem`` (which fsspec
prefers once sshfs is installed). Each login carries the options its library takes.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from casman.testing.cli import casman_runner
from casman.testing.moto import moto_server, s3_bucket
from casman.testing.sftp import SFTPServerInfo, sftp_server

__all__ = ["SFTPLogin", "casman_runner", "moto_server", "s3_bucket", "sftp", "sftp_server"]

SFTP_IMPLEMENTATIONS = {
    "paramiko": "fsspec.implementations.sftp:SFTPFileSystem",
    "sshfs": "sshfs:SSHFileSystem",
}


@dataclass(frozen=True)
class SFTPLogin:
    """The test server as one SFTP implementation reaches it."""

    server: SFTPServerInfo
    implementation: str

    @property
    def password(self) -> str:
        return self.server.password

    def url(self, path: str) -> str:
        return self.server.url(path)

    def options(self) -> dict[str, Any]:
        """Log in with the password; touch no real key, agent or known_hosts file."""
        if self.implementation == "paramiko":
            return self.server.options()
        return {
            "password": self.password,
            "known_hosts": None,
            "client_keys": [],
            "agent_path": None,
        }


@pytest.fixture(params=sorted(SFTP_IMPLEMENTATIONS))
def sftp(
    request: pytest.FixtureRequest, sftp_server: SFTPServerInfo, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SFTPLogin]:
    """fsspec resolves ``sftp://`` and ``ssh://`` to this implementation for one test."""
    import fsspec

    registry = importlib.import_module("fsspec.registry")  # the module, not fsspec.registry
    module, _, name = SFTP_IMPLEMENTATIONS[request.param].partition(":")
    cls = getattr(importlib.import_module(module), name)
    for protocol in ("sftp", "ssh"):
        monkeypatch.setitem(registry._registry, protocol, cls)
    assert fsspec.get_filesystem_class("sftp") is cls
    yield SFTPLogin(sftp_server, request.param)
