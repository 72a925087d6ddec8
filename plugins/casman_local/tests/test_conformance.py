"""Backend ``local`` passes the suite every casman backend passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from casman_local.backend import LocalBackend

from casman.testing import BackendConformance


class TestLocalConformance(BackendConformance):
    backend_name = "local"

    @pytest.fixture
    def backend(self, tmp_path: Path) -> LocalBackend:
        return LocalBackend(tmp_path / "store")
