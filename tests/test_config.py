"""config.yaml: ``${VAR}`` expansion, types and ranges, hostile YAML, unknown keys.

Every failure is a one-line :class:`ConfigError` naming the file and the key; unknown keys
are warnings on ``Config.warnings``, printed once by the CLI. Most tests call
:func:`load_config` with an explicit environment, so nothing here depends on the caller's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from casman.config import (
    MAX_CONFIG_BYTES,
    Config,
    ConfigError,
    SyncSettings,
    load_config,
    parse_bool,
    user_data_dir,
)
from casman.storage import BackendConfigError
from casman.storage.backend import BackendOption, BackendSpec
from casman.storage.plugins import resolve_options
from tests.conftest import REPO_ROOT, Casman

Load = Callable[..., Config]


@pytest.fixture
def load(tmp_path: Path) -> Load:
    """Write ``text`` to a config.yaml and load it with exactly ``environ`` (default: empty)."""

    def run(text: str, environ: Mapping[str, str] | None = None) -> Config:
        path = tmp_path / "config.yaml"
        path.write_text(text, encoding="utf-8")
        return load_config(str(path), dict(environ or {}))

    return run


def refused(load: Load, text: str, environ: Mapping[str, str] | None = None) -> str:
    """The ConfigError message, checked to be one line that names the file."""
    with pytest.raises(ConfigError) as caught:
        load(text, environ)
    message = str(caught.value)
    assert "\n" not in message
    assert "config.yaml" in message
    return message


def sync_yaml(**settings: object) -> str:
    return yaml.safe_dump({"database": {"sync": settings}})


# -- ${VAR} -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("database:\n  dir: ${UNSET}/x\n", "database.dir"),
        ("database:\n  dir: ${UNSET}\n", "database.dir"),
        ("database:\n  sync:\n    backend: ${UNSET}\n", "database.sync.backend"),
        ("database:\n  sync:\n    keep_versions: ${UNSET}\n", "database.sync.keep_versions"),
        ("database:\n  sync:\n    enabled: ${UNSET}\n", "database.sync.enabled"),
    ],
)
def test_unset_variable_under_database_is_an_error(load: Load, text: str, key: str) -> None:
    """``dir: ${UNSET}/x`` used to put the databases at ``/x``, on the filesystem root."""
    message = refused(load, text)
    assert message.startswith(f"{key} in ")
    assert "uses ${UNSET}, which is not set; set UNSET or edit" in message


def test_empty_variable_counts_as_unset_under_database(load: Load) -> None:
    """``DATA= casman ...`` is the same mistake as forgetting DATA."""
    assert "${DATA}" in refused(load, "database:\n  dir: ${DATA}/casman\n", {"DATA": ""})


def test_set_variables_are_expanded_and_then_type_checked(load: Load) -> None:
    config = load(
        "database:\n  dir: ${ROOT}/casman\n  sync:\n    keep_versions: ${KEEP}\n"
        "    backup_on_hours: ${HOURS}\n    backend: ${BACKEND}\n",
        {"ROOT": "/srv", "KEEP": "3", "HOURS": "1.5", "BACKEND": "s3"},
    )
    assert config.database_dir == Path("/srv/casman")
    assert (config.sync.keep_versions, config.sync.backup_on_hours) == (3, 1.5)
    assert config.sync.backend == "s3"


def test_exact_reference_outside_database_is_not_set(load: Load) -> None:
    """The spec's sample ``r2:`` section loads at a site that uses another backend, and
    r2, when used, still asks for the variable rather than for an empty value."""
    config = load(
        "database:\n  sync:\n    backend: local\n"
        "r2:\n  account_id: ${R2_ACCOUNT_ID}\n  bucket_name: casman-databases\n"
    )
    assert config.section("r2") == {"account_id": None, "bucket_name": "casman-databases"}
    spec = BackendSpec(
        name="r2",
        factory=lambda options: None,  # type: ignore[arg-type,return-value]
        description="r2 as configured",
        options=(BackendOption("account_id", "account", env="R2_ACCOUNT_ID", required=True),),
    )
    with pytest.raises(BackendConfigError, match="needs R2_ACCOUNT_ID"):
        resolve_options(spec, config.section("r2"), {})


def test_reference_inside_a_longer_value_outside_database_is_an_error(load: Load) -> None:
    message = refused(load, "s3:\n  endpoint: https://${HOST}:9000\n")
    assert message.startswith("s3.endpoint in ")
    assert "${HOST}" in message
    assert load("s3:\n  endpoint: https://${HOST}:9000\n", {"HOST": "minio"}).section("s3") == {
        "endpoint": "https://minio:9000"
    }


# -- booleans -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["auto_backup", "enabled"])
@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("'false'", {}, False),
        ("'true'", {}, True),
        ('"OFF"', {}, False),
        ("${V}", {"V": "false"}, False),
        ("${V}", {"V": "No"}, False),
        ("${V}", {"V": "1"}, True),
        ("false", {}, False),
        ("yes", {}, True),
        ("0", {}, False),
    ],
)
def test_booleans_are_read_after_expansion(
    load: Load, key: str, text: str, environ: dict[str, str], expected: bool
) -> None:
    """``auto_backup: 'false'`` and ``${V}`` with V=false used to read as true."""
    config = load(f"database:\n  sync:\n    {key}: {text}\n", environ)
    assert getattr(config.sync, key) is expected


@pytest.mark.parametrize("text", ["maybe", "'2'", "2", "[]", "{}", "0.0", "'truthy'"])
def test_other_boolean_values_are_refused(load: Load, text: str) -> None:
    message = refused(load, f"database:\n  sync:\n    auto_backup: {text}\n")
    assert message.startswith("database.sync.auto_backup in ")
    assert "must be true or false, got " in message


_BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True}
_BOOL_WORDS |= {"false": False, "no": False, "off": False, "0": False}


@st.composite
def _spelled(draw: st.DrawFn) -> tuple[str, bool]:
    word = draw(st.sampled_from(sorted(_BOOL_WORDS)))
    cased = "".join(c.upper() if draw(st.booleans()) else c for c in word)
    pad = st.sampled_from(["", " ", "\t"])
    return draw(pad) + cased + draw(pad), _BOOL_WORDS[word]


@given(_spelled())
def test_parse_bool_accepts_every_spelling_in_any_case(spelled: tuple[str, bool]) -> None:
    text, expected = spelled
    assert parse_bool(text, "X") is expected


@given(st.text(max_size=20).filter(lambda t: t.strip().lower() not in _BOOL_WORDS))
def test_parse_bool_refuses_everything_else(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^X="):
        parse_bool(text, "X")


def test_sync_enabled_environment_override(load: Load) -> None:
    assert load("", {"CASMAN_SYNC_ENABLED": "Off"}).sync.enabled is False
    assert load("", {"CASMAN_SYNC_ENABLED": ""}).sync.enabled is SyncSettings().enabled
    with pytest.raises(ConfigError, match="CASMAN_SYNC_ENABLED='sometimes' is not a boolean"):
        load("", {"CASMAN_SYNC_ENABLED": "sometimes"})


# -- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("keep_versions", ".inf"),
        ("keep_versions", ".nan"),
        ("keep_versions", "-1"),
        ("keep_versions", "0"),
        ("keep_versions", "true"),
        ("keep_versions", "2.5"),
        ("keep_versions", "10001"),
        ("keep_versions", "99999999999999999999999999"),
        ("keep_versions", "'ten'"),
        ("backup_on_scan_count", "-1"),
        ("backup_on_scan_count", "1.5"),
        ("backup_on_scan_count", "false"),
        ("backup_on_hours", ".inf"),
        ("backup_on_hours", "-.inf"),
        ("backup_on_hours", ".nan"),
        ("backup_on_hours", "-0.5"),
        ("backup_on_hours", "1.0e+300"),
        ("backup_on_hours", "true"),
        ("backup_on_hours", "'soon'"),
        ("backup_on_hours", "2024-01-01"),
        ("cache_ttl_seconds", "-5"),
    ],
)
def test_bad_numbers_are_one_line_errors(load: Load, key: str, text: str) -> None:
    """``keep_versions: .inf`` used to end in a traceback, ``true`` to mean 1 version."""
    message = refused(load, f"database:\n  sync:\n    {key}: {text}\n")
    assert message.startswith(f"database.sync.{key} in ")
    assert "must be a " in message and "number from " in message


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_keep_versions_is_accepted_exactly_from_1_to_10000(
    tmp_path_factory: pytest.TempPathFactory, number: int
) -> None:
    path = tmp_path_factory.mktemp("keep") / "config.yaml"
    for text, environ in (
        (sync_yaml(keep_versions=number), {}),
        (
            sync_yaml(keep_versions="${K}"),
            {"K": str(number)},
        ),
    ):
        path.write_text(text, encoding="utf-8")
        if 1 <= number <= 10_000:
            assert load_config(str(path), environ).sync.keep_versions == number
        else:
            with pytest.raises(ConfigError, match="keep_versions"):
                load_config(str(path), environ)


@settings(max_examples=60, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**8), 10**8))
def test_backup_on_hours_must_be_finite_and_in_range(
    tmp_path_factory: pytest.TempPathFactory, hours: float
) -> None:
    path = tmp_path_factory.mktemp("hours") / "config.yaml"
    path.write_text(sync_yaml(backup_on_hours=hours), encoding="utf-8")
    if hours == hours and 0 <= hours <= 1_000_000:
        assert load_config(str(path), {}).sync.backup_on_hours == hours
    else:
        with pytest.raises(ConfigError, match="backup_on_hours"):
            load_config(str(path), {})


def test_absent_or_empty_settings_keep_the_defaults(load: Load) -> None:
    """The defaults live on SyncSettings only; loading never substitutes its own."""
    assert load("").sync == SyncSettings()
    assert load("database:\n  sync:\n    keep_versions:\n    auto_backup: ~\n").sync == (
        SyncSettings()
    )
    config = load("database:\n", {"HOME": "/home/tech"})
    assert config.database_dir == user_data_dir({"HOME": "/home/tech"}) / "database"
    assert config.database_dir_source == "the per-user data directory"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("database:\n  sync:\n    backend: no\n", "database.sync.backend in "),
        ("database:\n  sync:\n    backend: [r2]\n", "database.sync.backend in "),
        ("database:\n  dir: 5\n", "database.dir in "),
        ("database: [a]\n", "database in "),
        ("database:\n  sync: on\n", "database.sync in "),
    ],
)
def test_wrong_types_name_the_key(load: Load, text: str, expected: str) -> None:
    assert refused(load, text).startswith(expected)


# -- hostile or mistaken YAML -------------------------------------------------------------


def _alias_bomb(levels: int, width: int) -> str:
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_at_the_first_alias(load: Load) -> None:
    """9**7 strings once expanded: this took seconds and gigabytes before (a full billion
    laughs never finished); aliases are now refused at the first one."""
    message = refused(load, _alias_bomb(7, 9))
    assert "line 2 uses the alias *a0" in message  # the first alias: nothing was expanded


def test_oversized_file_is_refused_before_parsing(load: Load) -> None:
    text = "# padding\n" * (MAX_CONFIG_BYTES // 10) + "grid: {}\n"
    assert len(text.encode()) > MAX_CONFIG_BYTES
    assert "larger than 1 MiB" in refused(load, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("database:\n  sync: {}\n  sync:\n    keep_versions: 2\n", "line 3 repeats the key sync"),
        ("x: " + "[" * 1000 + "]" * 1000 + "\n", "nests deeper than"),
        ("x: " + "9" * 5000 + "\n", "cannot read"),
        ("x: [1\n", "is not valid YAML"),
        ("- database\n", "must hold a mapping"),
        ("x: !!python/object:os.system {}\n", "is not valid YAML"),
    ],
)
def test_malformed_yaml_is_a_one_line_error(load: Load, text: str, expected: str) -> None:
    assert expected in refused(load, text)


# -- unknown keys -------------------------------------------------------------------------


def test_unknown_keys_are_warned_with_a_suggestion(load: Load, tmp_path: Path) -> None:
    """``keep_version: 3`` used to be ignored silently, leaving 10 versions."""
    config = load(
        "database:\n  dri: ./db\n  sync:\n    keep_version: 3\n"
        "databse: {}\nsurprise: 1\nr2: {anything: goes}\n"
    )
    where = tmp_path / "config.yaml"
    assert config.warnings == (
        f"unknown section databse in {where}; did you mean database?",
        f"unknown section surprise in {where} is ignored (casman reads database, grid, site, "
        "r2, s3, local, fsspec, memory and the backend's section)",
        f"unknown setting database.dri in {where}; did you mean dir?",
        f"unknown setting database.sync.keep_version in {where}; did you mean keep_versions?",
    )
    assert config.sync.keep_versions == SyncSettings().keep_versions


def test_spec_sample_and_configured_plugin_backend_give_no_warnings(load: Load) -> None:
    spec_sample = (
        "database:\n  sync:\n    enabled: true\n    backend: r2\n    auto_sync_on_import: false\n"
        "    cache_ttl_seconds: 3600\n    keep_versions: 10\n    backup_on_scan_count: 10\n"
        "    backup_on_hours: 24.0\n"
        "r2:\n  account_id: ${R2_ACCOUNT_ID}\n  access_key_id: ${R2_ACCESS_KEY_ID}\n"
        "  secret_access_key: ${R2_SECRET_ACCESS_KEY}\n  bucket_name: casman-databases\n"
        "  region: auto\n"
    )
    assert load(spec_sample).warnings == ()
    plugin = "database:\n  sync:\n    backend: thirdparty\nthirdparty: {token: x}\n"
    assert load(plugin).warnings == ()


# -- the CLI ------------------------------------------------------------------------------


def test_cli_prints_each_warning_once_on_stderr(casman: Casman, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    keep_version: 3\n")
    result = casman.ok("parts", "add", "ANTENNA", "1", "1")
    warning = (
        "Warning: unknown setting database.sync.keep_version in config.yaml; "
        "did you mean keep_versions?"
    )
    assert result.stderr.count(warning) == 1
    assert "keep_version" not in result.stdout


def test_cli_reports_a_config_error_as_one_line(casman: Casman, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database:\n  sync:\n    keep_versions: .inf\n")
    result = casman.fails("parts", "list")
    assert result.stderr == (
        "Error: database.sync.keep_versions in config.yaml must be a whole number from 1 to "
        "10000, got inf\n"
    )


def test_yaml_is_not_imported_without_a_config_file(tmp_path: Path) -> None:
    """Start-up time: the everyday command without config.yaml never imports PyYAML."""
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(REPO_ROOT)}
    env.pop("CASMAN_CONFIG", None)
    code = (
        "import sys; from casman.config import load_config; c = load_config(); "
        "print(c.source, 'yaml' in sys.modules, 'difflib' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.stdout.split() == ["None", "False", "False"], result.stderr
