from pathlib import Path

import pytest
from casman_dirstore import DirStore

from casman.testing import BackendConformance


class TestDirStoreConformance(BackendConformance):
    backend_name = "dirstore"  # uses the capabilities you registered

    @pytest.fixture
    def backend(self, tmp_path: Path) -> DirStore:
        return DirStore(tmp_path / "store")
