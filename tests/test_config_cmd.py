"""``casman config``: path, show (with sources, secrets masked) and init."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import Casman


def test_show_names_the_source_of_every_value(
    casman: Casman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    keep_versions: 4\n")
    monkeypatch.setenv("CASMAN_SYNC_BACKEND", "local")
    monkeypatch.setenv("CASMAN_LOCAL_PATH", str(tmp_path / "store"))
    data = json.loads(casman.ok("config", "show", "--json").stdout)
    rows = {row["key"]: row for row in data["settings"]}
    assert rows["database.sync.keep_versions"]["value"] == 4
    assert rows["database.sync.keep_versions"]["source"].startswith("config file")
    assert rows["database.sync.backend"]["source"] == "CASMAN_SYNC_BACKEND"
    assert rows["database.sync.backup_on_hours"]["source"] == "default"
    assert rows["database.dir"]["source"] == "CASMAN_DATABASE_DIR"
    assert rows["local.path"] == {
        "key": "local.path",
        "value": str(tmp_path / "store"),
        "source": "CASMAN_LOCAL_PATH",
    }


def test_show_masks_secrets(casman: Casman, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "SECRET-config-show-0123456789"
    monkeypatch.setenv("CASMAN_SYNC_BACKEND", "r2")
    monkeypatch.setenv("R2_SECRET_ACCESS_KEY", secret)
    result = casman.ok("config", "show")
    assert secret not in result.output
    assert "r2.secret_access_key" in result.output


def test_init_writes_a_commented_file_that_loads_and_never_clobbers(
    casman: Casman, tmp_path: Path
) -> None:
    target = tmp_path / "conf" / "config.yaml"
    casman.ok("config", "init", "--path", str(target))
    text = target.read_text()
    assert text.startswith("# casman configuration") and "backup_on_scan_count: 10" in text
    refused = casman.fails("config", "init", "--path", str(target))
    assert "--force" in refused.stderr
    os.environ["CASMAN_CONFIG"] = str(target)
    try:
        shown = json.loads(casman.ok("config", "show", "--json").stdout)
    finally:
        del os.environ["CASMAN_CONFIG"]
    assert shown["config_file"] == str(target) and shown["warnings"] == []
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    casman.fails("config", "init", "--path", str(fifo), "--force")
    assert stat.S_ISFIFO(fifo.stat().st_mode)
