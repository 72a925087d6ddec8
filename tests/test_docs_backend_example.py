"""The guide is the behaviour: the complete example in docs/writing-a-backend.md passes the
conformance suite, the guide documents everything a backend may return or declare, and
every statement it makes about what a backend must or may do is checked by a named test
(``CHECKED_BY``), backends without conditional writes included."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import sys
import types
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from casman.plugins import get_plugin_manager, reset_plugin_manager
from casman.storage import (
    PROTOCOL_VERSION,
    Backend,
    BackendHandle,
    BackendSpec,
    Capabilities,
    ListPage,
    ObjectInfo,
    StorageOp,
    StorageResult,
    content_md5,
    errors,
    hookimpl,
)
from casman.testing import BackendConformance, storage_for
from tests.conftest import Casman

DOC = Path(__file__).resolve().parent.parent / "docs" / "writing-a-backend.md"


def _example_module() -> types.ModuleType:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"`casman_dirstore\.py`:\s*```python\n(.*?)```", text, re.DOTALL)
    assert match is not None, "the dirstore example is missing from the doc"
    module = types.ModuleType("casman_dirstore")
    sys.modules["casman_dirstore"] = module
    exec(compile(match.group(1), str(DOC), "exec"), module.__dict__)
    return module


EXAMPLE = _example_module()


class TestDocumentedExampleConformance(BackendConformance):
    """Written only from the guide: SHA-256 ETags, declared opaque, pass the whole suite."""

    @pytest.fixture
    def capabilities(self, backend: Backend) -> Capabilities:
        spec: Any = EXAMPLE.SPEC
        return spec.capabilities  # type: ignore[no-any-return]

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        store: Backend = EXAMPLE.DirStore(tmp_path / "store")
        return store


def test_the_example_etag_is_a_sha256_not_an_md5(tmp_path: Path) -> None:
    store = EXAMPLE.DirStore(tmp_path / "store")
    info = store.put("k", b"body", metadata={}, content_md5=content_md5(b"body"))
    assert info.etag == hashlib.sha256(b"body").hexdigest() != hashlib.md5(b"body").hexdigest()
    assert EXAMPLE.SPEC.capabilities.etag == "opaque"


def test_example_registers_its_backend() -> None:
    seen = []
    EXAMPLE.casman_register_backends(seen.append)
    assert [spec.name for spec in seen] == ["dirstore"]
    assert seen[0].options[0].env == "DIRSTORE_ROOT"


def test_the_guide_names_everything_a_backend_may_declare_or_return() -> None:
    text = DOC.read_text(encoding="utf-8")
    for capability in dataclasses.fields(Capabilities):
        assert f"`{capability.name}" in text or f"{capability.name}," in text, capability.name
    storage_errors = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.StorageError)
    ]
    raised_by_backends = {
        "BackendConfigError",
        "BackendUnavailableError",
        "ChecksumMismatchError",
        "ObjectNotFoundError",
        "ObjectTooLargeError",
        "PreconditionFailedError",
    }
    assert raised_by_backends <= set(storage_errors)
    for name in sorted(raised_by_backends):
        assert f"`{name}`" in text, name
    assert "`request_sent: bool`" in text
    assert "`tidy(prefix) -> list[str]`" in text
    assert "`capabilities` attribute" in text


# -- every statement of the guide about what a backend must or may do is checked ---------

# The bold lead of each bullet of "What casman relies on", and the tests that check it.
CHECKED_BY: dict[str, tuple[str, ...]] = {
    "Keys": ("test_rejected_keys", "test_a_key_with_an_at_sign_never_reaches_the_backend"),
    "Metadata": ("test_metadata_round_trip_on_get", "test_metadata_round_trip_on_head"),
    "`content_md5`": ("test_wrong_md5_is_refused", "test_wrong_md5_keeps_previous_content"),
    "ETags are opaque.": ("test_the_example_etag_is_a_sha256_not_an_md5", "check_etag"),
    "Conditional writes": (
        "test_if_none_match_on_existing_key_fails",
        "test_if_match_with_wrong_etag_fails",
    ),
    "Without conditional writes": (
        "test_without_conditional_writes_casman_syncs_with_plain_writes",
        "test_a_lost_head_update_costs_a_re_upload_not_a_change",
        "test_a_conditional_write_asked_of_a_backend_without_them_is_refused",
    ),
    "Missing keys": (
        "test_get_missing_key",
        "test_delete_missing_key_is_not_an_error",
        "test_get_over_max_bytes_is_refused",
        "test_a_guide_one_backend_over_max_bytes_is_refused_after_reading",
    ),
    "Listing": ("test_list_pagination", "test_list_pagination_exact_multiple"),
    "Metadata names": ("test_metadata_names_as_declared",),
    "Errors": ("test_missing_required_option_names_env_and_config_key",),
    "Billing: was the request sent?": (
        "test_a_write_that_never_left_is_retried_and_one_that_left_is_not",
    ),
    "Size limit": ("test_put_over_declared_limit_is_refused_before_sending",),
    "Lazy imports": ("test_reading_commands_import_no_sync_storage_or_locks",),
}


def _relies_on_bullets() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("What casman relies on:", 1)[1].split("`BackendSpec` declares", 1)[0]
    return re.findall(r"^- \*\*(.+?)\*\*", section, re.MULTILINE)


def test_every_statement_of_the_guide_is_checked_by_a_test() -> None:
    bullets = _relies_on_bullets()
    assert bullets == list(CHECKED_BY), "add the new statement and its tests to CHECKED_BY"
    root = Path(__file__).resolve().parent.parent
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in (root / "tests", root / "casman" / "testing", root / "plugins")
        for path in folder.rglob("*.py")
    )
    for statement, tests in CHECKED_BY.items():
        for name in tests:
            assert re.search(rf"def {re.escape(name)}\(", sources), (statement, name)


def test_the_example_declares_the_protocol_this_guide_describes() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"This page is storage protocol **{PROTOCOL_VERSION}**" in text
    assert EXAMPLE.SPEC.protocol == PROTOCOL_VERSION


def test_a_key_with_an_at_sign_never_reaches_the_backend(tmp_path: Path) -> None:
    store = EXAMPLE.DirStore(tmp_path / "store")
    storage = storage_for(store, tmp_path / "state")
    with pytest.raises(errors.InvalidKeyError):
        storage.put("a@meta.json", b"x", {})
    assert not (tmp_path / "store").exists()


class _PlainMemory:
    """A backend without conditional writes, as the guide allows: its put takes none."""

    capabilities = Capabilities(conditional_writes=False)

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, ObjectInfo]] = {}

    def put(
        self, key: str, body: bytes, *, metadata: Mapping[str, str], content_md5: str
    ) -> ObjectInfo:
        if content_md5 != _md5(body):
            raise errors.ChecksumMismatchError("upload does not match its Content-MD5")
        etag = hashlib.sha256(body).hexdigest()
        info = ObjectInfo(
            key, len(body), etag, metadata={k.lower(): v for k, v in metadata.items()}
        )
        self.objects[key] = (body, info)
        return info

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        if key not in self.objects:
            raise errors.ObjectNotFoundError(f"{key} not found")
        body, info = self.objects[key]
        if max_bytes is not None and len(body) > max_bytes:
            raise errors.ObjectTooLargeError(f"{key} is larger than {max_bytes} bytes")
        return body, info

    def head(self, key: str) -> ObjectInfo:
        return self.get(key)[1]

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage:
        keys = sorted(k for k in self.objects if k.startswith(prefix) and k > (token or ""))
        page = keys[:max_keys]
        return ListPage(
            tuple(self.objects[k][1] for k in page), page[-1] if len(keys) > len(page) else None
        )

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


def _md5(body: bytes) -> str:
    return content_md5(body)


class TestPlainMemoryConformance(BackendConformance):
    """The backend the next tests publish to is a correct one."""

    @pytest.fixture
    def backend(self) -> Backend:
        store: Backend = _PlainMemory()
        return store


@pytest.fixture
def plain(casman: Casman, monkeypatch: pytest.MonkeyPatch) -> Iterator[_PlainMemory]:
    """Backend ``plain`` registered for one test; every site of the test shares its store."""
    store = _PlainMemory()
    spec = BackendSpec("plain", lambda options: store, "no conditional writes", protocol=4)

    class Provider:
        @hookimpl
        def casman_register_backends(self, register: Callable[[BackendSpec], None]) -> None:
            register(spec)

    reset_plugin_manager()
    get_plugin_manager().register(Provider(), name="plain-plugin")
    monkeypatch.setenv("CASMAN_SYNC_BACKEND", "plain")
    yield store
    reset_plugin_manager()


def _parts(casman: Casman) -> list[str]:
    return sorted(p["part_number"] for p in json.loads(casman.ok("parts", "list", "--json").stdout))


def test_without_conditional_writes_casman_syncs_with_plain_writes(
    casman: Casman,
    plain: _PlainMemory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    casman.ok("parts", "add", "ANTENNA", "2", "1")
    monkeypatch.setenv("CASMAN_TRACE_PLUGINS", "1")
    done = casman.ok("sync", "backup")
    puts = [line for line in done.stderr.splitlines() if " op=put " in line]
    assert {"key=array.json", "key=head.json"} <= {line.split()[4] for line in puts}
    assert not [line for line in puts if "if_none_match" in line or "if_match" in line]
    monkeypatch.delenv("CASMAN_TRACE_PLUGINS")
    assert "parts.db: checkpoint backups/parts.db/" in done.stdout
    monkeypatch.setenv("CASMAN_DATABASE_DIR", str(tmp_path / "site-b"))
    assert "received" in casman.ok("sync", "sync").stdout
    assert _parts(casman) == ["ANT00001P1", "ANT00002P1"]


def test_a_lost_head_update_costs_a_re_upload_not_a_change(
    casman: Casman,
    plain: _PlainMemory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site_a, site_b = str(casman.directory), str(tmp_path / "site-b")
    casman.ok("parts", "add", "ANTENNA", "1", "1")
    casman.ok("sync", "sync")
    stale_head = plain.objects["head.json"]
    monkeypatch.setenv("CASMAN_DATABASE_DIR", site_b)
    casman.ok("sync", "sync")
    casman.ok("parts", "add", "LNA", "1", "1")
    casman.ok("sync", "sync")
    plain.objects["head.json"] = stale_head  # site A's stale head written over B's
    monkeypatch.setenv("CASMAN_DATABASE_DIR", site_a)
    casman.ok("sync", "sync")
    assert _parts(casman) == ["ANT00001P1"]  # B's change is not named in the head now
    monkeypatch.setenv("CASMAN_DATABASE_DIR", site_b)
    casman.ok("sync", "sync")  # B notices and publishes again
    monkeypatch.setenv("CASMAN_DATABASE_DIR", site_a)
    casman.ok("sync", "sync")
    assert _parts(casman) == ["ANT00001P1", "LNA00001P1"]


def test_a_conditional_write_asked_of_a_backend_without_them_is_refused(tmp_path: Path) -> None:
    store = _PlainMemory()
    storage = storage_for(store, tmp_path)
    with pytest.raises(NotImplementedError, match="backend under-test has no conditional writes"):
        storage.put("k", b"1", {}, if_none_match="*")
    assert store.objects == {}


class _Flaky(_PlainMemory):
    """Fails each put once: before sending (``request_sent=False``) or after."""

    def __init__(self, sent: bool) -> None:
        super().__init__()
        self.sent = sent
        self.attempts = 0

    def put(
        self, key: str, body: bytes, *, metadata: Mapping[str, str], content_md5: str
    ) -> ObjectInfo:
        self.attempts += 1
        if self.attempts == 1:
            raise errors.BackendUnavailableError("link down", request_sent=self.sent)
        return super().put(key, body, metadata=metadata, content_md5=content_md5)


def test_a_write_that_never_left_is_retried_and_one_that_left_is_not(tmp_path: Path) -> None:
    never_left = _Flaky(sent=False)
    storage_for(never_left, tmp_path / "a").put("k", b"1", {})
    assert never_left.attempts == 2 and "k" in never_left.objects
    left = _Flaky(sent=True)
    with pytest.raises(errors.BackendUnavailableError):
        storage_for(left, tmp_path / "b").put("k", b"1", {})
    assert left.attempts == 1


def test_a_wrapper_gets_one_result_of_the_documented_type(tmp_path: Path) -> None:
    """What the guide's hook table says ``yield`` gives a wrapper, per operation."""
    seen: dict[str, object] = {}

    class Recorder:
        @hookimpl(wrapper=True)
        def casman_storage_op(
            self, backend: BackendHandle, op: StorageOp
        ) -> Generator[None, StorageResult, StorageResult]:
            result = yield
            seen[op.kind] = result
            return result

    get_plugin_manager().register(Recorder(), name="result-recorder")
    try:
        storage = storage_for(_PlainMemory(), tmp_path)
        storage.put("k", b"1", {})
        storage.head("k")
        storage.get("k")
        storage.list_page("")
        storage.delete("k")
    finally:
        get_plugin_manager().unregister(name="result-recorder")
    assert isinstance(seen["put"], ObjectInfo) and isinstance(seen["head"], ObjectInfo)
    body, info = seen["get"]  # type: ignore[misc]
    assert body == b"1" and isinstance(info, ObjectInfo)
    assert isinstance(seen["list"], ListPage)
    assert seen["delete"] is True


def test_after_change_gives_the_caller_an_empty_list(tmp_path: Path) -> None:
    from casman.config import Config
    from casman.db.changes import Change

    calls: list[Change] = []

    class Listener:
        @hookimpl
        def casman_after_change(self, config: Config, database_dir: Path, change: Change) -> None:
            calls.append(change)

    pm = get_plugin_manager()
    pm.register(Listener(), name="listener")
    try:
        config = Config(database_dir=tmp_path)
        results = pm.hook.casman_after_change(
            config=config, database_dir=tmp_path, change=Change("parts.db", "parts add")
        )
    finally:
        pm.unregister(name="listener")
    assert results == [] and [c.kind for c in calls] == ["parts add"]  # pluggy drops None
