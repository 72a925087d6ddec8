"""Where casman keeps things follows the XDG base directories, and `config show` tells the
truth about automatic backups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Casman


@pytest.fixture
def xdg(casman: Casman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG_CONFIG_HOME and XDG_DATA_HOME in the test's folder, no explicit locations."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("CASMAN_LOCAL_PATH", raising=False)
    return tmp_path


def _paths(casman: Casman) -> dict[str, str]:
    result: dict[str, str] = json.loads(casman.ok("config", "path", "--json").stdout)
    return result


def test_config_yaml_is_read_from_xdg_config_home(
    casman: Casman, xdg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = xdg / "xdg-config" / "casman" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(f"database:\n  dir: {xdg / 'from-xdg'}\n")
    monkeypatch.delenv("CASMAN_DATABASE_DIR")
    paths = _paths(casman)
    assert paths["config_file"] == str(config)
    assert paths["database_dir"] == str(xdg / "from-xdg")


def test_without_xdg_config_home_it_is_dot_config(
    casman: Casman, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    config = tmp_path / "home" / ".config" / "casman" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("site:\n  name: field\n")
    assert _paths(casman)["config_file"] == str(config)
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")  # the spec: ignore a relative one
    assert _paths(casman)["config_file"] == str(config)


def test_config_init_writes_into_xdg_config_home(casman: Casman, xdg: Path) -> None:
    casman.ok("config", "init")
    written = xdg / "xdg-config" / "casman" / "config.yaml"
    assert written.is_file()
    assert _paths(casman)["config_file"] == str(written)


def test_the_default_database_folder_is_in_xdg_data_home(
    casman: Casman, xdg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASMAN_DATABASE_DIR")
    assert _paths(casman)["database_dir"] == str(xdg / "xdg-data" / "casman" / "database")


def test_default_backups_go_to_xdg_data_home_without_nesting(casman: Casman, xdg: Path) -> None:
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("sync", "backup", "--json")
    data = xdg / "xdg-data" / "casman"
    store = data / "store"
    assert any(path.is_file() for path in store.rglob("*"))
    nested = [path for path in data.rglob("*") if "backups/backups" in path.as_posix()]
    assert nested == []
    assert not (xdg / "home" / ".local").exists()


def test_a_store_in_the_old_default_place_keeps_being_used(casman: Casman, xdg: Path) -> None:
    """casman 0.2.0 kept backups in …/casman/backups; an upgrade must still find them."""
    from casman_local.plugin import default_path

    old = xdg / "xdg-data" / "casman" / "backups"
    old.mkdir(parents=True)
    assert default_path() == old
    (xdg / "xdg-data" / "casman" / "store").mkdir()
    assert default_path() == xdg / "xdg-data" / "casman" / "store"


def _show(casman: Casman) -> dict[str, object]:
    result: dict[str, object] = json.loads(casman.ok("config", "show", "--json").stdout)
    return result


def test_config_show_says_automatic_backups_are_off_with_the_variable(
    casman: Casman, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASMAN_AUTO_BACKUP", "false")
    shown = _show(casman)
    assert shown["automatic_backups"] == {
        "on": False,
        "why": "turned off by CASMAN_AUTO_BACKUP",
    }
    settings = {row["key"]: row for row in shown["settings"]}  # type: ignore[attr-defined]
    assert settings["database.sync.auto_backup"]["value"] is False
    assert settings["database.sync.auto_backup"]["source"] == "CASMAN_AUTO_BACKUP"
    assert "automatic backups: off" in casman.ok("config", "show").stdout
    monkeypatch.setenv("CASMAN_AUTO_BACKUP", "yes")
    on = _show(casman)["automatic_backups"]
    assert on["on"] is True  # type: ignore[index]


def test_config_show_says_off_when_sync_is_off(
    casman: Casman, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASMAN_AUTO_BACKUP", "true")
    monkeypatch.setenv("CASMAN_SYNC_ENABLED", "false")
    assert _show(casman)["automatic_backups"]["on"] is False  # type: ignore[index]


def test_a_malformed_auto_backup_variable_is_one_line(
    casman: Casman, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASMAN_AUTO_BACKUP", "maybe")
    result = casman.fails("config", "show")
    assert result.stderr.strip() == (
        "Error: CASMAN_AUTO_BACKUP='maybe' is not a boolean; use true or false"
    )
