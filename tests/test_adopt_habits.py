"""Habits from the original CAsMan get one line naming what replaces them, never silence."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from casman.config import load_config
from tests.conftest import Casman


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


def warnings(home: Path, **environ: str) -> tuple[str, ...]:
    return load_config(environ={"HOME": str(home), **environ}).warnings


def test_r2_variables_while_another_backend_is_chosen_warn_once(home: Path) -> None:
    (line,) = warnings(home, R2_ACCOUNT_ID="acct", R2_SECRET_ACCESS_KEY="s3cr3t")
    assert line.startswith("R2_ACCOUNT_ID, R2_SECRET_ACCESS_KEY are set but the configured")
    assert "backend is local" in line and "CASMAN_SYNC_BACKEND=r2" in line
    assert "s3cr3t" not in line and "acct" not in line
    assert warnings(home, R2_ACCOUNT_ID="a", CASMAN_SYNC_BACKEND="r2") == ()
    assert warnings(home, R2_ACCOUNT_ID="a", CASMAN_SYNC_ENABLED="false") == ()


def test_the_old_database_path_variables_point_at_the_folder_setting(home: Path) -> None:
    (line,) = warnings(home, CASMAN_PARTS_DB="/data/parts.db")
    assert line == (
        "CASMAN_PARTS_DB is not read by casman; set CASMAN_DATABASE_DIR (or database.dir) to "
        "the folder that holds parts.db and assembled_casm.db"
    )


def test_old_keys_in_config_yaml_get_the_pointer_not_the_generic_line(home: Path) -> None:
    Path("config.yaml").write_text("CASMAN_ASSEMBLED_DB: /data/assembled_casm.db\n")
    (line,) = warnings(home)
    assert line.startswith("CASMAN_ASSEMBLED_DB in config.yaml is not read by casman; set ")


def test_a_local_overlay_and_a_json_config_are_named(home: Path) -> None:
    Path("config.local.yaml").write_text("r2: {bucket_name: x}\n")
    Path("config.json").write_text("{}")
    overlay, json_file = warnings(home)
    assert f"{Path('config.local.yaml').resolve()} is not read" in overlay
    assert "--config / CASMAN_CONFIG" in overlay
    assert f"{Path('config.json').resolve()} is not read: casman reads config.yaml" in json_file


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout only")
def test_the_old_per_user_folder_is_named_never_used_on_a_guess(home: Path) -> None:
    old = home / ".local" / "share" / "casman" / "databases"
    old.mkdir(parents=True)
    (old / "parts.db").write_bytes(b"")
    config = load_config(environ={"HOME": str(home)})
    assert config.database_dir == home / ".local" / "share" / "casman" / "database"
    (line,) = config.warnings
    assert f"set CASMAN_DATABASE_DIR={old}" in line


def test_the_cli_prints_the_pointer_once_on_stderr(
    casman: Casman, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("R2_BUCKET_NAME", "casman-databases")
    result = casman.ok("parts", "add", "ANTENNA", "1", "1")
    assert result.stderr.count("R2_BUCKET_NAME is set but the configured sync backend") == 1
    assert "R2_BUCKET_NAME" not in result.stdout
