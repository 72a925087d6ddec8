"""Compatibility as a rule: a backend written to any released guide keeps working, and one
casman cannot call is refused when it is loaded, with one line.

The frozen backends in ``tests/fixtures/guide_backends`` are the guide's example as each
protocol version printed it (see the README there); today's conformance suite and a real
``casman sync`` run on each.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from casman.plugins import get_plugin_manager, reset_plugin_manager
from casman.storage import (
    OLDEST_PROTOCOL,
    PROTOCOL_VERSION,
    Backend,
    BackendSpec,
    Capabilities,
    IncompatibleBackendError,
    ListPage,
    ObjectInfo,
    ObjectNotFoundError,
    hookimpl,
)
from casman.storage.compat import PROTOCOLS
from casman.testing import BackendConformance, storage_for
from tests.conftest import Casman

GUIDES = Path(__file__).resolve().parent / "fixtures" / "guide_backends"
VERSIONS = sorted(int(path.stem.rpartition("_v")[2]) for path in GUIDES.glob("dirstore_v*.py"))


def guide_backend(version: int) -> types.ModuleType:
    """The frozen example of guide version ``version``, imported under a name of its own."""
    path = GUIDES / f"dirstore_v{version}.py"
    spec = importlib.util.spec_from_file_location(f"guide_dirstore_v{version}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_frozen_backend_is_kept_for_every_protocol_before_the_current_one() -> None:
    assert list(range(OLDEST_PROTOCOL, PROTOCOL_VERSION)) == VERSIONS
    assert sorted(PROTOCOLS) == list(range(OLDEST_PROTOCOL, PROTOCOL_VERSION + 1))
    readme = (GUIDES / "README.md").read_text(encoding="utf-8")
    for version in VERSIONS:
        assert f"`dirstore_v{version}.py` | {version} |" in readme


def test_the_first_guides_backend_really_has_no_max_bytes() -> None:
    """What the rule is for: the host once called get(key, max_bytes=…) on it."""
    first = guide_backend(1).DirStore
    with pytest.raises(TypeError):
        first(Path("/nonexistent")).get("k", max_bytes=5)


class TestEveryReleasedGuidesBackend(BackendConformance):
    """Today's suite, unchanged, on the backend each earlier guide taught."""

    @pytest.fixture(params=VERSIONS, ids=[f"protocol-{v}" for v in VERSIONS])
    def module(self, request: pytest.FixtureRequest) -> types.ModuleType:
        return guide_backend(int(request.param))

    @pytest.fixture
    def backend(self, module: types.ModuleType, tmp_path: Path) -> Backend:
        store: Backend = module.DirStore(tmp_path / "store")
        return store

    @pytest.fixture
    def capabilities(self, module: types.ModuleType) -> Capabilities:
        declared: Capabilities = module.SPEC.capabilities
        return declared


def test_a_guide_one_backend_over_max_bytes_is_refused_after_reading(tmp_path: Path) -> None:
    module = guide_backend(1)
    storage = storage_for(module.DirStore(tmp_path / "store"), tmp_path / "state")
    storage.put("k", b"123456", {})
    assert not storage.handle.calls.accepts("get", "max_bytes")
    with pytest.raises(Exception, match="more than the 5 allowed; refused after reading") as big:
        storage.get("k", max_bytes=5)
    assert type(big.value).__name__ == "ObjectTooLargeError"
    assert storage.get("k", max_bytes=6)[0] == b"123456"


# -- through the command line, registered like an installed plugin ----------------------


@pytest.fixture
def registered(casman: Casman) -> Iterator[Callable[[object, str], None]]:
    """Registers throwaway plugins on the process's manager for one test."""
    names: list[str] = []
    reset_plugin_manager()

    def register(plugin: object, name: str) -> None:
        get_plugin_manager().register(plugin, name=name)
        names.append(name)

    yield register
    for name in names:
        get_plugin_manager().unregister(name=name)
    reset_plugin_manager()


class _Provider:
    def __init__(self, *specs: BackendSpec) -> None:
        self.specs = specs

    @hookimpl
    def casman_register_backends(self, register: Callable[[BackendSpec], None]) -> None:
        for spec in self.specs:
            register(spec)


def _parts_in(path: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [str(r[0]) for r in connection.execute("SELECT part_number FROM parts")]
    finally:
        connection.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_casman_syncs_and_checkpoints_with_each_guides_backend(
    casman: Casman,
    registered: Callable[[object, str], None],
    version: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = guide_backend(version)
    registered(module, f"dirstore-v{version}")
    monkeypatch.setenv("DIRSTORE_ROOT", str(tmp_path / "store"))
    casman.ok("parts", "add", "ANTENNA", "2", "1")
    casman.ok("sync", "--backend", "dirstore", "backup")
    listing = json.loads(casman.ok("sync", "--backend", "dirstore", "list", "--json").stdout)
    (checkpoint,) = listing["checkpoints"]
    restored = tmp_path / "restored"
    casman.ok(
        "sync",
        "--backend",
        "dirstore",
        "restore",
        checkpoint["keys"]["parts.db"],
        "--output",
        str(restored),
    )
    assert sorted(_parts_in(restored / "parts.db")) == ["ANT00001P1", "ANT00002P1"]
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(tmp_path / "site-b"))
    casman.ok("sync", "--backend", "dirstore", "sync")
    assert sorted(_parts_in(tmp_path / "site-b" / "parts.db")) == ["ANT00001P1", "ANT00002P1"]


# -- refused at load, with one line ------------------------------------------------------


class _Store:
    """A complete backend (objects in a dict), for refusals that are not about its methods."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, ObjectInfo]] = {}

    def put(
        self,
        key: str,
        body: bytes,
        *,
        metadata: Mapping[str, str],
        content_md5: str,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> ObjectInfo:
        info = ObjectInfo(key, len(body), str(len(self.objects)), metadata=dict(metadata))
        self.objects[key] = (body, info)
        return info

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        if key not in self.objects:
            raise ObjectNotFoundError(key)
        return self.objects[key]

    def head(self, key: str) -> ObjectInfo:
        return self.get(key)[1]

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage:
        return ListPage(tuple(i for k, (_, i) in sorted(self.objects.items()) if k > (token or "")))

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


class _WantsRegion(_Store):
    """Written for a casman that never existed: ``get`` needs a ``region``."""

    def get(  # type: ignore[override]
        self, key: str, *, region: str, max_bytes: int | None = None
    ) -> tuple[bytes, ObjectInfo]:
        return super().get(key, max_bytes=max_bytes)


def _new_region_store(options: Mapping[str, Any]) -> _WantsRegion:
    return _WantsRegion()


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_a_newer_protocol_than_this_casman_serves_is_refused_at_load(
    casman: Casman, registered: Callable[[object, str], None]
) -> None:
    future = BackendSpec(
        "future", lambda options: _Store(), "from the future", protocol=PROTOCOL_VERSION + 1
    )
    registered(_Provider(future), "future-plugin")
    plugins = json.loads(casman.ok("plugins", "--json").stdout)
    assert "future" not in [backend["name"] for backend in plugins["backends"]]
    (entry,) = [p for p in plugins["plugins"] if p["name"] == "future-plugin"]
    (problem,) = entry["problems"]
    expected = (
        f"needs storage protocol {PROTOCOL_VERSION + 1}, and casman 0.2.0 serves "
        f"protocols {OLDEST_PROTOCOL} to {PROTOCOL_VERSION}: upgrade casman"
    )
    assert expected in problem
    failed = casman.fails("sync", "--backend", "future", "sync")
    line = _one_line(failed.output)
    assert expected in line and "backend future (plugin future-plugin" in line


def test_a_required_parameter_casman_never_passes_is_refused_at_load(
    casman: Casman, registered: Callable[[object, str], None]
) -> None:
    spec = BackendSpec("regional", _new_region_store, "wants a region")
    registered(_Provider(spec), "regional-plugin")
    text = casman.ok("plugins").stdout
    assert (
        "problem: refused: backend regional: get() requires a parameter 'region' that casman "
        f"never passes (storage protocol {PROTOCOL_VERSION}); give it a default"
    ) in text
    failed = casman.fails("sync", "--backend", "regional", "sync")
    assert "get() requires a parameter 'region'" in _one_line(failed.output)


def test_a_factory_that_names_no_class_is_checked_when_the_backend_opens(
    casman: Casman, registered: Callable[[object, str], None], tmp_path: Path
) -> None:
    spec = BackendSpec("hidden", lambda options: _WantsRegion(), "wants a region, unannounced")
    registered(_Provider(spec), "hidden-plugin")
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    failed = casman.fails("sync", "--backend", "hidden", "sync")
    line = _one_line(failed.output)
    assert "backend hidden: get() requires a parameter 'region'" in line
    assert "Traceback" not in failed.output + failed.stderr


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        (
            type("NoDelete", (), {n: getattr(_Store, n) for n in ("put", "get", "head")})(),
            "has no list_page() method",
        ),
        (
            type("OnePosition", (_Store,), {"list_page": lambda self, prefix: ListPage(())})(),
            "list_page() must take prefix, token, max_keys by position",
        ),
        (
            type(
                "NoMetadata",
                (_Store,),
                {"put": lambda self, key, body, *, content_md5: None},
            )(),
            "put() must accept metadata=",
        ),
    ],
    ids=["missing-method", "too-few-positions", "no-metadata"],
)
def test_a_backend_casman_cannot_call_is_refused_before_any_request(
    backend: object, message: str, tmp_path: Path
) -> None:
    with pytest.raises(
        IncompatibleBackendError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        storage_for(backend, tmp_path).handle.calls  # noqa: B018


def test_conditional_writes_declared_but_not_accepted_are_refused(tmp_path: Path) -> None:
    class Unconditional(_Store):
        capabilities = Capabilities(conditional_writes=True)

        def put(  # type: ignore[override]
            self, key: str, body: bytes, *, metadata: Mapping[str, str], content_md5: str
        ) -> ObjectInfo:
            return super().put(key, body, metadata=metadata, content_md5=content_md5)

    with pytest.raises(IncompatibleBackendError, match="declares conditional writes, but its"):
        storage_for(Unconditional(), tmp_path).head("k")


def test_only_what_a_method_accepts_is_passed(tmp_path: Path) -> None:
    """A keyword the host knows but the backend does not take is left out; one the
    backend takes through ``**options`` is passed."""
    seen: list[dict[str, object]] = []

    class Recording(_Store):
        def put(self, key: str, body: bytes, **options: Any) -> ObjectInfo:  # type: ignore[override]
            seen.append(options)
            return super().put(key, body, metadata=options["metadata"], content_md5="x")

        def get(self, key: str) -> tuple[bytes, ObjectInfo]:  # type: ignore[override]
            return super().get(key)

    storage = storage_for(Recording(), tmp_path)
    storage.put("k", b"1", {"a": "b"})
    assert sorted(seen[0]) == ["content_md5", "if_match", "if_none_match", "metadata"]
    assert storage.get("k", max_bytes=10)[0] == b"1"
