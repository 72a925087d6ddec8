"""The test plugin ``memory`` (a third-party-style distribution) passes the suite too.

Running the suite against a backend that is not ours checks that the suite is really
reusable: it needs nothing but ``casman.testing`` and an installed entry point.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Iterator
from typing import Any

import pytest

from casman.storage.plugins import reset_plugin_manager
from casman.testing import BackendConformance
from tests.conftest import ensure_memory_plugin_installed


@pytest.fixture(scope="module", autouse=True)
def memory_plugin_installed() -> Iterator[None]:
    """The fixture plugin, installed like any third-party backend."""
    ensure_memory_plugin_installed()
    reset_plugin_manager()
    yield
    reset_plugin_manager()


class TestMemoryBackendConformance(BackendConformance):
    backend_name = "memory"

    @pytest.fixture
    def backend(self) -> Any:
        return importlib.import_module("casman_memory_backend").MemoryBackend()
