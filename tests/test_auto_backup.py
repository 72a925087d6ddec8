"""Automatic backups: after part generation and every N changes, only when configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Casman, add_all_types


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "remote"))
    return tmp_path / "remote"


def _backups(casman: Casman) -> list[str]:
    return [b["key"] for b in json.loads(casman.ok("sync", "list", "--json").output)]


def test_off_by_default(casman: Casman, remote: Path) -> None:
    add_all_types(casman, 1, "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    assert not remote.exists()


def test_after_parts_and_every_n_changes(casman: Casman, remote: Path, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "database:\n  sync:\n    auto_backup: true\n    backup_on_scan_count: 3\n"
    )
    result = casman.ok("parts", "add", "ANTENNA", "3", "1")
    assert "Automatic backup done." in result.stderr
    assert len(_backups(casman)) == 2  # both databases
    casman.ok("parts", "add", "LNA", "3", "1")
    casman.ok("assembly", "connect", "ANT00001P1", "LNA00001P1")
    casman.ok("assembly", "connect", "ANT00002P1", "LNA00002P1")
    before = len(_backups(casman))
    third = casman.ok("assembly", "connect", "ANT00003P1", "LNA00003P1")
    assert "Automatic backup done." in third.stderr
    keys = _backups(casman)
    assert len(keys) == before + 1  # parts.db unchanged is not uploaded again
    listing = json.loads(casman.ok("sync", "list", "--db", "assembled_casm.db", "--json").output)
    assert listing[0]["operation"].startswith("Automatic backup after")
    assert listing[0]["records"] == 3


def test_failed_automatic_backup_is_a_warning_not_a_failure(
    casman: Casman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.yaml").write_text(
        "database:\n  sync:\n    auto_backup: true\n    backend: nosuchbackend\n"
    )
    result = casman.ok("parts", "add", "ANTENNA", "1", "1")
    assert "Warning: automatic backup failed" in result.stderr
    assert "ANT00001P1" in result.output


def test_verbose_logs_without_secrets(
    casman: Casman, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "SECRETVALUE-verbose-0123456789"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("R2_SECRET_ACCESS_KEY", secret)
    casman.ok("parts", "add", "ANT", "1", "1")
    result = casman.ok("-vv", "sync", "backup")
    assert "INFO casman.sync: backing up parts.db" in result.stderr
    assert secret not in result.output + result.stderr
