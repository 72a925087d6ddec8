"""The suite every storage backend passes, ours and third-party alike.

A plugin's test module subclasses :class:`BackendConformance` and overrides the
``backend`` fixture to return a fresh, empty store. Every test goes through a
:class:`~casman.storage.Storage` built on the real plugin manager's hook, so key validation
and the wrappers (quota, tracing) run exactly as in production. The sync engine relies on
each behaviour checked here; a backend that passes can be used for backups.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import ClassVar

import pytest

from casman.storage import (
    Backend,
    BackendHandle,
    BackendSpec,
    Capabilities,
    ChecksumMismatchError,
    InvalidKeyError,
    ObjectNotFoundError,
    ObjectTooLargeError,
    PreconditionFailedError,
    Storage,
    content_md5,
)
from casman.storage.backend import declared_capabilities

REJECTED_KEYS = ("../x", "/abs", "a//b", "a\\b", "", "a/../b", "a/./b", "trailing/")
METADATA = {"database": "parts.db", "sha256": "ab" * 32, "record-count": "42"}
KEY = "backups/parts.db/20240101_000000_parts.db"


def _all_bytes() -> bytes:
    return bytes(range(256)) * 4 + b"\r\n\x00end"


class BackendConformance:
    """Subclass this in a test module (name the subclass ``Test…``) and override ``backend``.

    ``backend_name`` names a registered backend whose spec (capabilities, cost model) the
    suite uses; leave it None for a backend under test that is not installed as a plugin,
    and override ``capabilities`` instead. A backend instance that declares its own
    ``capabilities`` attribute is tested with those, as casman would use it.

    The suite assumes nothing the backend does not declare: the ETag form
    (``Capabilities.etag``: ``"md5"`` is checked against the body, ``"opaque"`` only has
    to change when the object does), the listing order (``listing_order``) and how
    metadata names come back (``metadata_names``).
    """

    backend_name: ClassVar[str | None] = None

    # -- fixtures a subclass overrides -------------------------------------------------

    @pytest.fixture
    def backend(self) -> Backend:
        """A fresh, empty store for one test; every subclass must override this."""
        pytest.fail("override the `backend` fixture in your BackendConformance subclass")

    @pytest.fixture
    def capabilities(self, backend: Backend) -> Capabilities:
        """What the backend declares: on the instance, else in its registered spec."""
        if self.backend_name is None:
            return declared_capabilities(backend, _anonymous_spec(backend, Capabilities()))
        from casman.storage.registry import get_backend_spec

        return declared_capabilities(backend, get_backend_spec(self.backend_name))

    # -- the façade every test goes through --------------------------------------------

    @pytest.fixture
    def storage(self, backend: Backend, capabilities: Capabilities, tmp_path: Path) -> Storage:
        from casman.plugins import get_plugin_manager
        from casman.storage.registry import get_backend_spec

        if self.backend_name is not None:
            spec = dataclasses.replace(
                get_backend_spec(self.backend_name), capabilities=capabilities
            )
        else:
            spec = _anonymous_spec(backend, capabilities)
        state_dir = tmp_path / "conformance-state"
        state_dir.mkdir(exist_ok=True)
        handle = BackendHandle(
            name=spec.name,
            spec=spec,
            impl=backend,
            settings={},
            state_dir=state_dir,
        )
        return Storage(handle, get_plugin_manager().hook, purpose="conformance")

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def keys(storage: Storage, prefix: str = "") -> list[str]:
        return [info.key for info in storage.list(prefix)]

    @staticmethod
    def declared(storage: Storage) -> Capabilities:
        return storage.handle.spec.capabilities

    def listed(self, storage: Storage, prefix: str = "") -> list[str]:
        """The keys under ``prefix``, sorted when the backend does not promise an order."""
        keys = self.keys(storage, prefix)
        return keys if self.declared(storage).listing_order == "sorted" else sorted(keys)

    def check_etag(self, storage: Storage, etag: str, body: bytes) -> None:
        assert etag, "a backend must return a non-empty ETag"
        if self.declared(storage).etag == "md5":
            assert etag.strip('"') == hashlib.md5(body).hexdigest()

    def expected_metadata(self, storage: Storage, sent: dict[str, str]) -> dict[str, str]:
        if self.declared(storage).metadata_names == "lowercase":
            return {name.lower(): value for name, value in sent.items()}
        return dict(sent)

    # -- round trip --------------------------------------------------------------------

    def test_put_get_round_trip(self, storage: Storage) -> None:
        body = _all_bytes()
        storage.put(KEY, body, METADATA)
        got, info = storage.get(KEY)
        assert got == body
        assert info.key == KEY
        assert info.size == len(body)

    def test_empty_body(self, storage: Storage) -> None:
        info = storage.put("empty", b"", {})
        assert info.size == 0
        got, got_info = storage.get("empty")
        assert got == b""
        assert got_info.size == 0
        self.check_etag(storage, got_info.etag, b"")

    def test_one_megabyte_body(self, storage: Storage) -> None:
        body = hashlib.sha256(b"seed").digest() * (1024 * 1024 // 32)
        storage.put("big/one-megabyte.bin", body, {})
        got, info = storage.get("big/one-megabyte.bin")
        assert got == body
        assert info.size == len(body)

    def test_put_returns_size_and_etag(self, storage: Storage) -> None:
        body = b"hello, casman"
        put_info = storage.put(KEY, body, METADATA)
        assert put_info.key == KEY
        assert put_info.size == len(body)
        self.check_etag(storage, put_info.etag, body)
        head = storage.head(KEY)
        assert head.size == len(body)
        assert head.etag == put_info.etag
        _, get_info = storage.get(KEY)
        assert get_info.etag == put_info.etag

    def test_overwrite_replaces_body_and_metadata(self, storage: Storage) -> None:
        first = storage.put(KEY, b"first", {"version": "1"})
        second = storage.put(KEY, b"second body", {"version": "2"})
        assert first.etag != second.etag
        got, info = storage.get(KEY)
        assert got == b"second body"
        assert dict(info.metadata) == {"version": "2"}

    # -- metadata ----------------------------------------------------------------------

    def test_metadata_round_trip_on_get(self, storage: Storage) -> None:
        storage.put(KEY, b"body", METADATA)
        _, info = storage.get(KEY)
        assert dict(info.metadata) == METADATA

    def test_metadata_round_trip_on_head(self, storage: Storage) -> None:
        storage.put(KEY, b"body", METADATA)
        info = storage.head(KEY)
        assert dict(info.metadata) == METADATA
        assert info.size == 4

    def test_metadata_names_as_declared(self, storage: Storage) -> None:
        sent = {"Database": "parts.db", "record-count": "7"}
        storage.put(KEY, b"body", sent)
        assert dict(storage.head(KEY).metadata) == self.expected_metadata(storage, sent)
        assert dict(storage.get(KEY)[1].metadata) == self.expected_metadata(storage, sent)

    def test_put_over_declared_limit_is_refused_before_sending(
        self, backend: Backend, capabilities: Capabilities, tmp_path: Path
    ) -> None:
        from casman.plugins import get_plugin_manager

        small = dataclasses.replace(capabilities, max_single_put_bytes=8)
        spec = _anonymous_spec(backend, small)
        handle = BackendHandle(
            name=spec.name,
            spec=spec,
            impl=backend,
            settings={},
            state_dir=tmp_path,
        )
        storage = Storage(handle, get_plugin_manager().hook, purpose="conformance")
        with pytest.raises(ObjectTooLargeError) as refused:
            storage.put(KEY, b"123456789", METADATA)
        assert refused.value.request_sent is False
        assert self.keys(storage) == []
        storage.put(KEY, b"12345678", METADATA)  # exactly the limit is fine
        assert storage.get(KEY)[0] == b"12345678"

    def test_get_within_max_bytes(self, storage: Storage) -> None:
        storage.put(KEY, b"12345", METADATA)
        body, _ = storage.get(KEY, max_bytes=5)
        assert body == b"12345"

    def test_get_over_max_bytes_is_refused(self, storage: Storage) -> None:
        storage.put(KEY, b"123456", METADATA)
        with pytest.raises(ObjectTooLargeError):
            storage.get(KEY, max_bytes=5)

    # -- missing keys and delete -------------------------------------------------------

    def test_get_missing_key(self, storage: Storage) -> None:
        with pytest.raises(ObjectNotFoundError):
            storage.get("no/such/key")

    def test_head_missing_key(self, storage: Storage) -> None:
        with pytest.raises(ObjectNotFoundError):
            storage.head("no/such/key")

    def test_delete_then_missing(self, storage: Storage) -> None:
        storage.put(KEY, b"doomed", {})
        storage.delete(KEY)
        with pytest.raises(ObjectNotFoundError):
            storage.get(KEY)
        with pytest.raises(ObjectNotFoundError):
            storage.head(KEY)
        assert self.keys(storage) == []

    def test_delete_missing_key_is_not_an_error(self, storage: Storage) -> None:
        storage.delete("never/stored")  # S3 semantics: DELETE is idempotent

    # -- listing -----------------------------------------------------------------------

    def test_list_empty(self, storage: Storage) -> None:
        page = storage.list_page("")
        assert page.objects == ()
        assert page.next_token is None

    def test_list_with_prefix(self, storage: Storage) -> None:
        for key in ("a/1", "a/2", "ab", "b/1", "a/deep/3"):
            storage.put(key, key.encode(), {})
        assert self.listed(storage, "a/") == ["a/1", "a/2", "a/deep/3"]
        assert self.listed(storage, "a") == ["a/1", "a/2", "a/deep/3", "ab"]
        assert self.listed(storage, "b/") == ["b/1"]
        assert self.listed(storage, "c/") == []
        assert self.listed(storage) == ["a/1", "a/2", "a/deep/3", "ab", "b/1"]

    def test_list_reports_sizes(self, storage: Storage) -> None:
        storage.put("sizes/one", b"1", {})
        storage.put("sizes/three", b"333", {})
        sizes = {info.key: info.size for info in storage.list("sizes/")}
        assert sizes == {"sizes/one": 1, "sizes/three": 3}

    def test_list_etag_matches_head(self, storage: Storage) -> None:
        stored = storage.put("etags/one", b"first", {})
        (listed,) = storage.list("etags/")
        assert listed.etag == stored.etag == storage.head("etags/one").etag

    def test_list_pagination(self, storage: Storage) -> None:
        keys = [f"pages/{name}" for name in ("g", "c", "a", "e", "b", "f", "d")]
        for key in keys:
            storage.put(key, key.encode(), {})
        seen: list[str] = []
        token: str | None = None
        pages = 0
        while True:
            page = storage.list_page("pages/", token, max_keys=3)
            pages += 1
            assert len(page.objects) <= 3
            seen.extend(info.key for info in page.objects)
            if page.next_token is None:
                break
            token = page.next_token
            assert pages < 10, "pagination does not terminate"
        if self.declared(storage).listing_order == "sorted":
            assert seen == sorted(keys)
        else:
            assert sorted(seen) == sorted(keys) and len(seen) == len(set(seen))
        assert pages == 3
        assert self.listed(storage, "pages/") == sorted(keys)

    def test_list_pagination_exact_multiple(self, storage: Storage) -> None:
        keys = [f"exact/{index}" for index in range(6)]
        for key in keys:
            storage.put(key, b"x", {})
        seen = [info.key for info in storage.list("exact/", max_keys=3)]
        if self.declared(storage).listing_order != "sorted":
            seen.sort()
        assert seen == keys

    # -- rejected keys -----------------------------------------------------------------

    @pytest.mark.parametrize("bad_key", REJECTED_KEYS)
    def test_rejected_keys(self, storage: Storage, bad_key: str) -> None:
        with pytest.raises(InvalidKeyError):
            storage.put(bad_key, b"escape", {})
        with pytest.raises(InvalidKeyError):
            storage.get(bad_key)
        with pytest.raises(InvalidKeyError):
            storage.head(bad_key)
        with pytest.raises(InvalidKeyError):
            storage.delete(bad_key)
        assert self.keys(storage) == []

    # -- checksums ---------------------------------------------------------------------

    def test_wrong_md5_is_refused(self, storage: Storage) -> None:
        with pytest.raises(ChecksumMismatchError):
            storage.put(KEY, b"the real body", {}, md5=content_md5(b"another body"))
        assert self.keys(storage) == []
        with pytest.raises(ObjectNotFoundError):
            storage.head(KEY)

    def test_wrong_md5_keeps_previous_content(self, storage: Storage) -> None:
        storage.put(KEY, b"previous", METADATA)
        with pytest.raises(ChecksumMismatchError):
            storage.put(KEY, b"replacement", {}, md5=content_md5(b"something else"))
        got, info = storage.get(KEY)
        assert got == b"previous"
        assert dict(info.metadata) == METADATA

    # -- conditional writes ------------------------------------------------------------

    @pytest.fixture
    def conditional(self, capabilities: Capabilities) -> None:
        if not capabilities.conditional_writes:
            pytest.skip("backend does not declare conditional writes")

    @pytest.mark.usefixtures("conditional")
    def test_if_none_match_on_absent_key_stores(self, storage: Storage) -> None:
        storage.put(KEY, b"new", METADATA, if_none_match="*")
        assert storage.get(KEY)[0] == b"new"

    @pytest.mark.usefixtures("conditional")
    def test_if_none_match_on_existing_key_fails(self, storage: Storage) -> None:
        storage.put(KEY, b"original", METADATA)
        with pytest.raises(PreconditionFailedError):
            storage.put(KEY, b"clobber", {"x": "y"}, if_none_match="*")
        got, info = storage.get(KEY)
        assert got == b"original"
        assert dict(info.metadata) == METADATA

    @pytest.mark.usefixtures("conditional")
    def test_if_match_with_current_etag_succeeds(self, storage: Storage) -> None:
        first = storage.put(KEY, b"v1", {})
        storage.put(KEY, b"v2", {"version": "2"}, if_match=first.etag)
        got, info = storage.get(KEY)
        assert got == b"v2"
        assert dict(info.metadata) == {"version": "2"}

    @pytest.mark.usefixtures("conditional")
    def test_if_match_with_wrong_etag_fails(self, storage: Storage) -> None:
        storage.put(KEY, b"v1", METADATA)
        wrong = hashlib.md5(b"not the body").hexdigest()
        with pytest.raises(PreconditionFailedError):
            storage.put(KEY, b"v2", {}, if_match=wrong)
        got, info = storage.get(KEY)
        assert got == b"v1"
        assert dict(info.metadata) == METADATA

    @pytest.mark.usefixtures("conditional")
    def test_if_match_on_missing_key_fails(self, storage: Storage) -> None:
        etag = hashlib.md5(b"anything").hexdigest()
        with pytest.raises((PreconditionFailedError, ObjectNotFoundError)):
            storage.put(KEY, b"v1", {}, if_match=etag)
        assert self.keys(storage) == []


def _anonymous_spec(backend: Backend, capabilities: Capabilities) -> BackendSpec:
    return BackendSpec(
        name="conformance",
        factory=lambda settings: backend,
        description="backend under conformance test",
        capabilities=capabilities,
    )
