"""The database location is chosen, never guessed, and reading never creates databases."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.test_real_processes import _casman_exe


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASMAN_")}
    env.update(HOME=str(home), CASMAN_AUTO_BACKUP="false", XDG_DATA_HOME="")
    env.update(extra)
    return env


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [*_casman_exe(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_reading_from_an_empty_place_says_where_it_looked_and_creates_nothing(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path / "home")
    result = run(tmp_path / "anywhere", env, "parts", "list")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    data_dir = tmp_path / "home" / ".local" / "share" / "casman" / "database"
    assert str(data_dir) in result.stderr and "per-user data directory" in result.stderr
    assert not data_dir.exists()
    assert not (tmp_path / "anywhere" / "database").exists()


def test_the_first_write_creates_them_in_the_per_user_directory_and_says_so(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path / "home")
    added = run(tmp_path / "one", env, "parts", "add", "ANTENNA", "2", "1")
    data_dir = tmp_path / "home" / ".local" / "share" / "casman" / "database"
    assert added.returncode == 0
    assert f"Created new databases in {data_dir}" in added.stderr
    # from any other directory the same databases are used
    listed = run(tmp_path / "elsewhere", env, "parts", "list", "--json")
    assert [p["part_number"] for p in json.loads(listed.stdout)] == ["ANT00001P1", "ANT00002P1"]
    again = run(tmp_path / "one", env, "parts", "add", "ANTENNA", "1", "1")
    assert "Created new databases" not in again.stderr


def test_an_existing_dot_database_keeps_working_and_is_named(tmp_path: Path) -> None:
    env = _env(tmp_path / "home")
    site = tmp_path / "old-site"
    run(site, env, "--database-dir", "database", "parts", "add", "LNA", "1", "1")
    shown = json.loads(run(site, env, "config", "path", "--json").stdout)
    assert shown["database_dir"] == "database"
    assert "./database in the current directory" in shown["database_dir_source"]
    listed = run(site, env, "parts", "list", "--json")
    assert [p["part_number"] for p in json.loads(listed.stdout)] == ["LNA00001P1"]


def test_precedence_option_over_environment_over_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  dir: {tmp_path / 'from-config'}\n")
    env = _env(tmp_path / "home", CASMAN_CONFIG=str(config))

    def where(*args: str, **extra: str) -> tuple[str, str]:
        out = run(tmp_path, {**env, **extra}, *args, "config", "path", "--json").stdout
        data = json.loads(out)
        return data["database_dir"], data["database_dir_source"]

    assert where() == (str(tmp_path / "from-config"), f"database.dir in {config}")
    assert where(CASMAN_DATABASE_DIR=str(tmp_path / "env")) == (
        str(tmp_path / "env"),
        "CASMAN_DATABASE_DIR",
    )
    assert where("--database-dir", str(tmp_path / "opt"), CASMAN_DATABASE_DIR="x") == (
        str(tmp_path / "opt"),
        "--database-dir",
    )
