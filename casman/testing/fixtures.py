"""Fixtures plugin authors may import into their ``conftest.py``.

Plain fixture functions rather than a registered pytest plugin, so that installing casman
never changes anybody else's test session.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def temp_database_dir(tmp_path: Path) -> Path:
    """An empty database directory (``CASMAN_DATABASE_DIR``) private to one test."""
    directory = tmp_path / "database"
    directory.mkdir()
    return directory
