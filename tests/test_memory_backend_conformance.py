"""The test plugin ``memory`` (a third-party-style distribution) passes the suite too.

Running the suite against a backend that is not ours checks that the suite is really
reusable: it needs nothing but ``casman.testing`` and an installed entry point.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casman.storage.plugins import reset_plugin_manager
from casman.testing import BackendConformance

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "casman_memory_backend"


@pytest.fixture(scope="module", autouse=True)
def memory_plugin_installed() -> Iterator[None]:
    """Install the fixture distribution if CI has not (entry points need real metadata)."""
    try:
        importlib.metadata.distribution("casman-memory-backend")
    except importlib.metadata.PackageNotFoundError:
        base = [sys.executable, "-m", "pip", "install", "--no-deps", "-q"]
        done = subprocess.run([*base, "--no-build-isolation", "-e", str(FIXTURE_DIR)])
        if done.returncode != 0:  # an old setuptools cannot build editables offline
            subprocess.run([*base, "-e", str(FIXTURE_DIR)], check=True)
        importlib.invalidate_caches()
    if str(FIXTURE_DIR) not in sys.path:  # the editable .pth is read only at start-up
        sys.path.insert(0, str(FIXTURE_DIR))
    reset_plugin_manager()
    yield
    reset_plugin_manager()


class TestMemoryBackendConformance(BackendConformance):
    backend_name = "memory"

    @pytest.fixture
    def backend(self) -> Any:
        return importlib.import_module("casman_memory_backend").MemoryBackend()
