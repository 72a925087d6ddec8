"""The plugin host: loading, isolation of broken plugins, the registry, options, masking.

Third-party loading is tested with real distributions: the ``casman-memory-backend``
fixture package (installed editable) and throwaway ``*.dist-info`` folders written to a
temp directory on ``sys.path``, which importlib.metadata finds like any installed package.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from casman import hookspecs as hookspecs_module
from casman.cli import cli
from casman.config import Config, SyncSettings
from casman.plugins import BUILTIN_PLUGIN_NAMES, get_plugin_manager, reset_plugin_manager
from casman.storage import (
    Backend,
    BackendConfigError,
    BackendHandle,
    BackendOption,
    BackendSpec,
    Capabilities,
    ObjectNotFoundError,
    ObjectTooLargeError,
    StorageOp,
    UnknownBackendError,
    hookimpl,
)
from casman.storage.opening import open_storage
from casman.storage.options import describe_settings, mask_secret, resolve_options
from casman.storage.registry import backend_specs, get_backend_spec, plugin_report
from tests.conftest import MEMORY_PLUGIN_DIR, ensure_memory_plugin_installed

TESTS_DIR = Path(__file__).parent
SECRET = "sk-live-0123456789abcdefSECRET"


@pytest.fixture(scope="module", autouse=True)
def memory_plugin_installed() -> Iterator[None]:
    """The fixture plugin, installed like any third-party backend."""
    ensure_memory_plugin_installed()
    yield


@pytest.fixture(autouse=True)
def fresh_manager(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test loads plugins from its own environment and leaves none behind."""
    monkeypatch.delenv("CASMAN_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("CASMAN_TRACE_PLUGINS", raising=False)
    reset_plugin_manager()
    importlib.import_module("casman_memory_backend").reset()
    yield
    reset_plugin_manager()


def fake_distribution(
    site: Path, name: str, version: str, entry_points: dict[str, str], modules: dict[str, str]
) -> None:
    """A minimal installed distribution: METADATA, entry_points.txt and its modules."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[casman]\n{lines}")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)


BAD_HOOK_SOURCE = """
from casman.storage import hookimpl

@hookimpl
def casman_no_such_hook():
    pass
"""


@pytest.fixture
def broken_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Installs ``casman-broken-fixture`` 1.0 with two plugins that cannot load."""
    site = tmp_path / "site"
    fake_distribution(
        site,
        "casman-broken-fixture",
        "1.0",
        {"broken": "casman_missing_module_xyz", "badhook": "casman_badhook_fixture"},
        {"casman_badhook_fixture": BAD_HOOK_SOURCE},
    )
    monkeypatch.syspath_prepend(str(site))
    return site


def infos_by_name() -> dict[str, Any]:
    return {info.name: info for info in plugin_report()}


def run_cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


# -- loading -----------------------------------------------------------------------------


def test_builtin_plugins_are_registered() -> None:
    infos = infos_by_name()
    for name in BUILTIN_PLUGIN_NAMES:
        assert infos[name].builtin
        assert infos[name].distribution == "casman"
        assert infos[name].error is None


def test_entry_point_plugin_is_loaded_with_its_distribution() -> None:
    info = infos_by_name()["memory"]
    assert (info.distribution, info.version) == ("casman-memory-backend", "0.0.1")
    assert info.backends == ("memory",)
    assert info.error is None
    assert "memory" in backend_specs()


def test_manager_is_one_lazily_created_singleton() -> None:
    assert get_plugin_manager() is get_plugin_manager()
    first = get_plugin_manager()
    reset_plugin_manager()
    assert get_plugin_manager() is not first


def test_throwaway_plugin_registers_a_backend_and_unregisters() -> None:
    spec = BackendSpec(name="throwaway", factory=lambda settings: None, description="x")  # type: ignore[arg-type,return-value]

    class Throwaway:
        @hookimpl
        def casman_register_backends(self, register: Callable[[BackendSpec], None]) -> None:
            register(spec)

    pm = get_plugin_manager()
    pm.register(Throwaway(), name="throwaway-plugin")
    try:
        assert backend_specs()["throwaway"] is spec
        assert infos_by_name()["throwaway-plugin"].backends == ("throwaway",)
    finally:
        pm.unregister(name="throwaway-plugin")
    assert "throwaway" not in backend_specs()
    assert "throwaway-plugin" not in infos_by_name()


def test_duplicate_backend_name_is_a_problem_and_first_wins() -> None:
    original = get_backend_spec("memory")
    impostor = BackendSpec(name="memory", factory=lambda settings: None, description="fake")  # type: ignore[arg-type,return-value]

    class Impostor:
        @hookimpl
        def casman_register_backends(self, register: Callable[[BackendSpec], None]) -> None:
            register(impostor)

    pm = get_plugin_manager()
    pm.register(Impostor(), name="impostor")
    try:
        assert get_backend_spec("memory") is original
        info = infos_by_name()["impostor"]
        assert info.backends == ()
        assert any("already registered by memory" in problem for problem in info.problems)
    finally:
        pm.unregister(name="impostor")


def test_register_hook_that_raises_is_reported_and_others_still_register() -> None:
    class Exploding:
        @hookimpl
        def casman_register_backends(self, register: Callable[[BackendSpec], None]) -> None:
            raise RuntimeError("boom while registering")

    pm = get_plugin_manager()
    pm.register(Exploding(), name="exploding")
    try:
        assert "memory" in backend_specs()
        assert infos_by_name()["exploding"].error == "RuntimeError: boom while registering"
    finally:
        pm.unregister(name="exploding")


# -- broken entry points -----------------------------------------------------------------


@pytest.mark.usefixtures("broken_site")
def test_broken_entry_point_is_reported_and_others_work(tmp_path: Path) -> None:
    infos = infos_by_name()
    broken = infos["broken"]
    assert (broken.distribution, broken.version) == ("casman-broken-fixture", "1.0")
    assert broken.error is not None
    assert broken.error.startswith("ModuleNotFoundError")
    assert "\n" not in broken.error
    assert infos["badhook"].error is not None
    assert "casman_no_such_hook" in infos["badhook"].error
    assert "badhook" not in dict(get_plugin_manager().list_name_plugin())
    # Everything else still works: the registry, opening a backend, the plugins command.
    assert {"local", "memory"} <= set(backend_specs())
    storage = open_storage(Config(database_dir=tmp_path), "memory", environ={})
    storage.put("still/works", b"yes", {})
    assert storage.get("still/works")[0] == b"yes"
    result = run_cli("plugins", "--json")
    assert result.exit_code == 0
    failed = {p["name"]: p for p in json.loads(result.output)["plugins"] if p["error"]}
    assert set(failed) == {"broken", "badhook"}
    assert failed["broken"]["distribution"] == "casman-broken-fixture"


@pytest.mark.usefixtures("broken_site")
def test_failed_plugin_is_named_when_its_backend_is_asked_for() -> None:
    with pytest.raises(UnknownBackendError, match="plugin broken failed to load"):
        get_backend_spec("broken")


@pytest.mark.slow
def test_broken_entry_point_does_not_break_the_command_line(broken_site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(broken_site), str(MEMORY_PLUGIN_DIR)])}
    env.pop("CASMAN_LOAD_PLUGINS", None)
    command = [sys.executable, "-c", "from casman.cli import main; main()"]
    for args in (["--version"], ["--help"], ["plugins"]):
        done = subprocess.run([*command, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert "Failed to load" in done.stdout
    assert "broken (casman-broken-fixture 1.0): ModuleNotFoundError" in done.stdout
    assert "Traceback" not in done.stderr


# -- CASMAN_LOAD_PLUGINS -----------------------------------------------------------------


def test_load_plugins_limits_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASMAN_LOAD_PLUGINS", "memory")
    infos = infos_by_name()
    assert "memory" in infos
    assert "local" not in infos
    assert "casman.storage.operations" in infos  # built-ins always load
    assert set(backend_specs()) == {"memory"}


def test_load_plugins_empty_loads_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASMAN_LOAD_PLUGINS", "")
    assert backend_specs() == {}
    assert all(info.builtin for info in plugin_report())


def test_load_plugins_naming_a_missing_plugin_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CASMAN_LOAD_PLUGINS", " memory , nosuchplugin ")
    infos = infos_by_name()
    assert infos["memory"].error is None
    assert infos["nosuchplugin"].error == "not installed (named in CASMAN_LOAD_PLUGINS)"


# -- unknown backends --------------------------------------------------------------------


def test_unknown_known_backend_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASMAN_LOAD_PLUGINS", "memory")
    with pytest.raises(UnknownBackendError) as caught:
        get_backend_spec("r2")
    message = str(caught.value)
    assert "pip install casman-r2 to use backend r2" in message
    assert "CASMAN_LOAD_PLUGINS" in message
    assert "\n" not in message


def test_unknown_backend_lists_available_ones() -> None:
    with pytest.raises(UnknownBackendError) as caught:
        get_backend_spec("nosuch")
    assert "available backends:" in str(caught.value)
    assert "memory" in str(caught.value)
    assert "local" in str(caught.value)


# -- options and secrets -----------------------------------------------------------------

R2_LIKE = BackendSpec(
    name="r2",
    factory=lambda settings: None,  # type: ignore[arg-type,return-value]
    description="pretend r2",
    options=(
        BackendOption("bucket_name", "bucket", env="R2_BUCKET_NAME", required=True),
        BackendOption("secret_access_key", "key", env="R2_SECRET_ACCESS_KEY", secret=True),
        BackendOption("region", "region", env="R2_REGION", default="auto"),
        BackendOption("profile", "no env var", required=True),
    ),
)


def test_option_precedence_env_then_config_then_default() -> None:
    section = {"bucket_name": "from-config", "region": "eu", "profile": "p"}
    env = {"R2_BUCKET_NAME": "from-env"}
    resolved = resolve_options(R2_LIKE, section, env)
    assert resolved == {
        "bucket_name": "from-env",
        "secret_access_key": None,
        "region": "eu",
        "profile": "p",
    }
    resolved = resolve_options(R2_LIKE, {"bucket_name": "from-config", "profile": "p"}, {})
    assert resolved["bucket_name"] == "from-config"
    assert resolved["region"] == "auto"


def test_empty_values_count_as_unset() -> None:
    resolved = resolve_options(
        R2_LIKE, {"bucket_name": "cfg", "region": "", "profile": "p"}, {"R2_BUCKET_NAME": ""}
    )
    assert resolved["bucket_name"] == "cfg"
    assert resolved["region"] == "auto"


def test_missing_required_option_names_env_and_config_key() -> None:
    with pytest.raises(BackendConfigError) as caught:
        resolve_options(R2_LIKE, {"profile": "p"}, {})
    assert str(caught.value) == (
        "backend r2 needs R2_BUCKET_NAME (or r2.bucket_name in config.yaml)"
    )
    with pytest.raises(BackendConfigError, match=r"needs r2\.profile in config\.yaml"):
        resolve_options(R2_LIKE, {"bucket_name": "b"}, {})


@pytest.mark.parametrize("value", [SECRET, "abcdefghijkl", "short", "x", "0123456789"])
def test_mask_secret_never_reveals_the_value(value: str) -> None:
    masked = mask_secret(value)
    assert value not in masked
    assert len(value) < 12 or masked == f"{value[:2]}…({len(value)} chars)"
    assert len(value) >= 12 or value[:2] not in masked


def test_mask_secret_unset_values() -> None:
    assert mask_secret(None) == "(not set)"
    assert mask_secret("") == "(empty)"


def test_describe_settings_masks_secrets() -> None:
    settings = resolve_options(
        R2_LIKE,
        {"bucket_name": "bucket", "profile": "p"},
        {"R2_SECRET_ACCESS_KEY": SECRET},
    )
    settings["api_token"] = "undeclared-but-token-like-value"
    described = describe_settings(R2_LIKE, settings)
    text = json.dumps(described, ensure_ascii=False)
    assert SECRET not in text
    assert "undeclared-but-token-like-value" not in text
    assert described["bucket_name"] == "bucket"
    assert described["secret_access_key"] == mask_secret(SECRET)


def test_plugins_json_never_shows_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASMAN_MEMORY_TOKEN", SECRET)
    result = run_cli("plugins", "--json")
    assert result.exit_code == 0
    assert SECRET not in result.output
    document = json.loads(result.output)
    memory = next(b for b in document["backends"] if b["name"] == "memory")
    token = next(o for o in memory["options"] if o["name"] == "token")
    assert token == {
        "name": "token",
        "env": "CASMAN_MEMORY_TOKEN",
        "secret": True,
        "required": False,
        "default": None,
    }


def test_plugins_human_output() -> None:
    result = run_cli("plugins")
    assert result.exit_code == 0
    assert "memory (casman-memory-backend 0.0.1) — backends: memory" in result.output
    assert "casman.storage.operations (casman" in result.output
    assert "Failed to load" not in result.output


def test_plugins_json_is_stable() -> None:
    first = run_cli("plugins", "--json").output
    reset_plugin_manager()
    assert run_cli("plugins", "--json").output == first
    document = json.loads(first)
    assert sorted(document) == ["backends", "hooks", "plugins"]
    assert sorted(document["plugins"][0]) == [
        "backends",
        "builtin",
        "distribution",
        "error",
        "name",
        "problems",
        "version",
    ]


# -- open_storage ------------------------------------------------------------------------


def test_open_storage_builds_the_handle(tmp_path: Path) -> None:
    config = Config(
        database_dir=tmp_path / "db",
        sync=SyncSettings(backend="memory"),
        sections={"memory": {"namespace": "n1", "quota": {"class_a": 10}}},
    )
    storage = open_storage(config, purpose="backup", environ={"CASMAN_MEMORY_TOKEN": SECRET})
    handle = storage.handle
    assert handle.name == "memory"
    assert handle.state_dir == tmp_path / "db"
    assert handle.settings["namespace"] == "n1"
    assert handle.settings["quota"] == {"class_a": 10}
    assert handle.settings["token"] == SECRET
    assert storage.purpose == "backup"


def test_open_storage_unknown_backend(tmp_path: Path) -> None:
    with pytest.raises(UnknownBackendError):
        open_storage(Config(database_dir=tmp_path), "nosuch", environ={})


# -- hooks -------------------------------------------------------------------------------


def hookspec_names() -> list[str]:
    return [
        name
        for name, function in inspect.getmembers(hookspecs_module, inspect.isfunction)
        if hasattr(function, f"{hookspecs_module.PROJECT_NAME}_spec")
    ]


def test_every_hookspec_is_documented_and_tested() -> None:
    names = hookspec_names()
    assert names, "no hookspecs found"
    sources = "\n".join(path.read_text() for path in TESTS_DIR.rglob("*.py"))
    for name in names:
        doc = inspect.getdoc(getattr(hookspecs_module, name))
        assert doc and len(doc) > 40, f"hookspec {name} needs a docstring"
        implemented = re.search(rf"def {name}\(", sources)
        assert implemented, f"hookspec {name} is not implemented by any test plugin"


def test_storage_op_wrapper_sees_every_call(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    class Recorder:
        @hookimpl(wrapper=True)
        def casman_storage_op(
            self, backend: BackendHandle, op: StorageOp
        ) -> Generator[None, object, object]:
            seen.append((op.kind, op.key))
            return (yield)

    pm = get_plugin_manager()
    pm.register(Recorder(), name="recorder")
    try:
        storage = open_storage(Config(database_dir=tmp_path), "memory", environ={})
        storage.put("a/b", b"1", {})
        storage.head("a/b")
        storage.get("a/b")
        list(storage.list("a/"))
        storage.delete("a/b")
    finally:
        pm.unregister(name="recorder")
    assert seen == [
        ("put", "a/b"),
        ("head", "a/b"),
        ("get", "a/b"),
        ("list", "a/"),
        ("delete", "a/b"),
    ]


def test_tracing_prints_one_line_per_operation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASMAN_TRACE_PLUGINS", "1")
    storage = open_storage(
        Config(database_dir=tmp_path), "memory", environ={"CASMAN_MEMORY_TOKEN": SECRET}
    )
    storage.put("traced/key", b"12345", {"sha256": "meta-value"})
    storage.get("traced/key")
    with pytest.raises(ObjectNotFoundError):
        storage.head("traced/missing")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("casman trace: backend=memory op=put key=traced/key size=5")
    assert lines[0].endswith("outcome=ok")
    assert "op=get key=traced/key size=5" in lines[1]
    assert lines[2].endswith("outcome=ObjectNotFoundError")
    assert all("duration_ms=" in line for line in lines)
    assert SECRET not in "\n".join(lines)
    assert "meta-value" not in "\n".join(lines)


def test_tracing_is_silent_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    storage = open_storage(Config(database_dir=tmp_path), "memory", environ={})
    storage.put("quiet", b"1", {})
    assert capsys.readouterr().err == ""


# -- built-ins are part of the host, and the host enforces what a backend declares ----------


def test_a_missing_builtin_is_an_error_not_silence(monkeypatch: pytest.MonkeyPatch) -> None:
    """Renaming the quota module must break loudly instead of switching quota off."""
    assert {"casman.storage.quota", "casman.storage.tracing"} <= set(BUILTIN_PLUGIN_NAMES)
    original = sys.modules["casman.storage.quota"]
    monkeypatch.setitem(sys.modules, "casman.storage.quota", None)  # import fails
    reset_plugin_manager()
    with pytest.raises(ImportError, match=r"casman\.storage\.quota"):
        get_plugin_manager()
    monkeypatch.setitem(sys.modules, "casman.storage.quota", original)
    reset_plugin_manager()
    assert infos_by_name()["casman.storage.quota"].builtin


class _Counting:
    """A backend that counts the puts it receives and declares a tiny size limit."""

    capabilities = Capabilities(conditional_writes=True, max_single_put_bytes=4)

    def __init__(self) -> None:
        self.puts = 0

    def put(self, key: str, body: bytes, **_: Any) -> Any:
        self.puts += 1
        return None

    def get(self, key: str, *, max_bytes: int | None = None) -> Any:
        raise ObjectNotFoundError(key)

    def head(self, key: str) -> Any:
        raise ObjectNotFoundError(key)

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> Any:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        return None


def test_the_host_refuses_a_put_over_the_declared_limit_before_sending(tmp_path: Path) -> None:
    counting = _Counting()
    seen: list[str] = []

    class Recorder:
        @hookimpl(wrapper=True)
        def casman_storage_op(
            self, backend: BackendHandle, op: StorageOp
        ) -> Generator[None, object, object]:
            seen.append(op.kind)
            return (yield)

    spec = BackendSpec(name="counting", factory=lambda settings: counting, description="x")

    class Provider:
        @hookimpl
        def casman_register_backends(self, register: Callable[[BackendSpec], None]) -> None:
            register(spec)

    pm = get_plugin_manager()
    pm.register(Provider(), name="counting-provider")
    pm.register(Recorder(), name="recorder")
    try:
        storage = open_storage(Config(database_dir=tmp_path), "counting", environ={})
        # the instance's own capabilities replace the spec's (default 100 MB) in the handle
        assert storage.handle.spec.capabilities.max_single_put_bytes == 4
        with pytest.raises(ObjectTooLargeError, match="more than the 4 backend") as refused:
            storage.put("k", b"12345", {})
        assert refused.value.request_sent is False
        assert counting.puts == 0 and seen == []  # refused before any wrapper or the backend
        storage.put("k", b"1234", {})
        assert counting.puts == 1 and seen == ["put"]
    finally:
        pm.unregister(name="recorder")
        pm.unregister(name="counting-provider")
    assert isinstance(counting, Backend)


# -- one host: built-ins listed, loaded per hook, every hookimpl shown ---------------------


def test_a_hook_loads_only_the_builtins_that_implement_it() -> None:
    from casman.plugins import plugin_manager_for

    pm = plugin_manager_for("casman_after_change")
    names = [name for name, _ in pm.list_name_plugin()]
    assert "casman.sync.auto" in names
    assert not [n for n in names if n.startswith("casman.storage.")]
    assert "memory" in names  # entry points may implement any hook: all are loaded
    # the storage built-ins come later, yet are registered before every entry point
    get_plugin_manager()
    names = [name for name, _ in pm.list_name_plugin()]
    assert set(names[: len(BUILTIN_PLUGIN_NAMES)]) == set(BUILTIN_PLUGIN_NAMES)


def test_the_call_order_does_not_depend_on_which_hook_came_first() -> None:
    from casman.plugins import hook_implementations, plugin_manager_for

    first = [(i.hook, i.plugin) for i in hook_implementations()]
    reset_plugin_manager()
    plugin_manager_for("casman_after_change")
    assert [(i.hook, i.plugin) for i in hook_implementations()] == first
    storage_op = [i.plugin for i in hook_implementations() if i.hook == "casman_storage_op"]
    assert storage_op[0] == "casman.storage.put_limit"
    assert storage_op[-1] == "casman.storage.operations"


def test_a_builtin_listed_with_the_wrong_hooks_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from casman import plugins

    wrong = plugins.BuiltinPlugin(
        "casman.sync.auto", "casman.sync.auto:AutoBackupPlugin", ("casman_storage_op",)
    )
    monkeypatch.setattr(plugins, "BUILTIN_PLUGINS", (wrong,))
    reset_plugin_manager()
    with pytest.raises(RuntimeError, match=r"implements \['casman_after_change'\] but is listed"):
        get_plugin_manager()


def test_casman_plugins_shows_every_hookimpl_with_its_plugin() -> None:
    text = run_cli("plugins").output
    hooks = text.split("Hooks (implementations in call order):\n", 1)[1]
    assert "  casman_after_change: casman.sync.auto\n" in hooks
    assert "casman.storage.put_limit [wrapper, tryfirst]" in hooks
    assert "casman.storage.operations [trylast]" in hooks
    register_line = next(line for line in hooks.splitlines() if "casman_register_backends" in line)
    assert "memory" in register_line and "local" in register_line
    document = json.loads(run_cli("plugins", "--json").output)
    implementers = {i["plugin"] for impls in document["hooks"].values() for i in impls}
    loaded = {p["name"] for p in document["plugins"] if p["error"] is None}
    assert implementers == loaded  # every plugin implements something, and is shown


@pytest.mark.slow
def test_a_one_shot_write_loads_no_storage_wrapper(tmp_path: Path) -> None:
    """It fires casman_after_change only, so quota, tracing and the size limit stay out."""
    probe = (
        "import sys\n"
        "from casman.cli import main\n"
        "try:\n    main(['parts', 'add', 'ANTENNA', '1', '1'])\n"
        "except SystemExit as done:\n    assert not done.code, done.code\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('casman.'))))\n"
    )
    env = {**os.environ, "CASMAN_DATABASE_DIR": str(tmp_path / "db"), "HOME": str(tmp_path)}
    env["CASMAN_AUTO_BACKUP"] = "false"
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "casman.sync.auto" in loaded  # the hook was fired
    for module in ("casman.storage.quota", "casman.storage.tracing", "casman.storage.put_limit"):
        assert module not in loaded
