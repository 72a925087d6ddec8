"""Every test session runs away from the user's own files.

Commands under test may create databases in the per-user data directory, back up to
``~/.local/share/casman/backups`` or start an automatic-backup uploader: a test must never
touch the developer's (or CI's) real home. The session gets a home of its own, and automatic
backups are off unless a test turns them on (tests/test_auto_backup.py does, by name).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "casman", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("casman")
"""Property tests are judged by their answers, never by their speed: hypothesis's default
200 ms per example (and its "data generation is slow" check) fail by chance on a busy
machine. A real failure prints the blob that replays it (``@reproduce_failure``)."""

_ISOLATED = ("HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "CASMAN_AUTO_BACKUP")


@pytest.fixture(autouse=True, scope="session")
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in _ISOLATED}
    home = tmp_path_factory.mktemp("home")
    os.environ["HOME"] = str(home)
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        os.environ.pop(name, None)
    os.environ["CASMAN_AUTO_BACKUP"] = "false"
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
