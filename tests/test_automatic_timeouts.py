"""Automatic work never waits long on a dead link: short timeouts unless the user set them."""

from __future__ import annotations

from pathlib import Path

import pytest
from casman_s3.testing import blackhole

from casman.config import load_config
from casman.storage.errors import StorageError
from casman.storage.plugins import AUTOMATIC_WORK_DEFAULTS, open_storage


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASMAN_CONFIG", raising=False)
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(tmp_path / "db"))
    monkeypatch.setenv("CASMAN_S3_BUCKET", "casman-test")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("CASMAN_S3_CONNECT_TIMEOUT", "CASMAN_S3_READ_TIMEOUT", "CASMAN_S3_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)


def test_automatic_work_gets_short_timeouts(s3_env: None) -> None:
    storage = open_storage(load_config(), "s3", automatic=True)
    for name, value in AUTOMATIC_WORK_DEFAULTS.items():
        assert storage.handle.settings[name] == value
    interactive = open_storage(load_config(), "s3")
    assert interactive.handle.settings["read_timeout"] != AUTOMATIC_WORK_DEFAULTS["read_timeout"]


def test_a_timeout_the_user_set_is_kept(s3_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASMAN_S3_READ_TIMEOUT", "11")
    storage = open_storage(load_config(), "s3", automatic=True)
    assert storage.handle.settings["read_timeout"] == "11"
    assert storage.handle.settings["max_attempts"] == AUTOMATIC_WORK_DEFAULTS["max_attempts"]


@pytest.mark.slow
def test_a_blackholed_endpoint_costs_automatic_work_seconds(
    s3_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with blackhole() as server:
        monkeypatch.setenv("CASMAN_S3_ENDPOINT", server.url)
        storage = open_storage(load_config(), "s3", automatic=True)
        with pytest.raises(StorageError) as caught:
            storage.head("backups/parts.db/HEAD.json")
        connections = server.connections
    # What bounds the wait, without a stopwatch that a busy machine breaks: the automatic
    # read timeout ended the request (the message names it) and there was no second attempt.
    read_timeout = AUTOMATIC_WORK_DEFAULTS["read_timeout"]
    assert f"did not answer within {read_timeout} s" in str(caught.value)
    assert connections == int(AUTOMATIC_WORK_DEFAULTS["max_attempts"])
