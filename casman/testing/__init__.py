"""What plugin authors import in their tests: the backend conformance suite and fixtures.

Usage in a plugin's ``tests/test_conformance.py``::

    from casman.testing import BackendConformance

    class TestMyBackend(BackendConformance):
        backend_name = "mine"

        @pytest.fixture
        def backend(self, tmp_path):
            return MyBackend(tmp_path)

Beside the suite: :func:`open_backend` / :func:`make_backend` open a registered backend
exactly as ``casman sync`` does, :class:`CasmanRunner` (fixture ``casman_runner``) runs
``casman`` commands against a private database directory,
:func:`check_sync_round_trip` runs a user's whole round (sync, backup, list, restore) on a
backend, and
:mod:`casman.testing.moto` / :mod:`casman.testing.sftp` start an S3 or SFTP server on
127.0.0.1. Nothing here imports boto3, fsspec or an SSH library at import time; a backend's
own SDK is its tests' business.
"""

from casman.testing.backends import (
    backend_spec,
    describe_settings,
    get_backend_spec,
    get_plugin_manager,
    make_backend,
    mask_url_credentials,
    open_backend,
    resolve_options,
    resolved_options,
    storage_for,
)
from casman.testing.cli import (
    CasmanRunner,
    CliResult,
    RoundTrip,
    casman_runner,
    check_sync_round_trip,
)
from casman.testing.conformance import BackendConformance
from casman.testing.fixtures import temp_database_dir

__all__ = [
    "BackendConformance",
    "CasmanRunner",
    "CliResult",
    "RoundTrip",
    "backend_spec",
    "casman_runner",
    "check_sync_round_trip",
    "describe_settings",
    "get_backend_spec",
    "get_plugin_manager",
    "make_backend",
    "mask_url_credentials",
    "open_backend",
    "resolve_options",
    "resolved_options",
    "storage_for",
    "temp_database_dir",
]
