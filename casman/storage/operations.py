"""Routes every remote call through the ``casman_storage_op`` hook.

The sync engine talks to :class:`Storage`, never to a backend directly, so that quota,
tracing and any later wrapper see each request exactly once and keys are validated before
any I/O.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias, cast

import pluggy

from casman.hookspecs import hookimpl
from casman.storage.backend import Backend, BackendSpec, ListPage, ObjectInfo, OperationKind
from casman.storage.compat import BackendCalls, check_protocol, inspect_backend
from casman.storage.errors import BackendUnavailableError, ObjectTooLargeError
from casman.storage.keys import validate_key, validate_prefix

DEFAULT_PAGE_SIZE = 1000

StorageResult: TypeAlias = ObjectInfo | tuple[bytes, ObjectInfo] | ListPage | bool | None
"""What ``casman_storage_op`` returns, and what a wrapper's ``yield`` gives it (the hook is
``firstresult``: one value, never a list): an ObjectInfo for put and head, ``(body, info)``
for get, a ListPage for list, True for delete, None for a dry-run op stopped before the
backend."""


@dataclass
class BackendHandle:
    """A configured backend as hooks see it: its spec, instance, settings and state folder.

    ``settings`` are the resolved options plus ``quota`` limits; ``state_dir`` is where
    per-backend state such as the quota tracker lives (the database directory).
    """

    name: str
    spec: BackendSpec
    impl: Backend
    settings: Mapping[str, Any]
    state_dir: Path
    _calls: BackendCalls | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def calls(self) -> BackendCalls:
        """What the host may pass to this backend's methods, inspected once; raises
        IncompatibleBackendError (one line) for a backend casman cannot use."""
        if self._calls is None:
            check_protocol(self.spec)
            self._calls = inspect_backend(self.impl, self.name, self.spec.capabilities)
        return self._calls


@dataclass
class StorageOp:
    """One remote request. ``purpose`` names the user command it serves (for messages)."""

    kind: OperationKind
    key: str
    purpose: str = ""
    body: bytes | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    content_md5: str | None = None
    if_none_match: str | None = None
    if_match: str | None = None
    token: str | None = None
    max_keys: int = DEFAULT_PAGE_SIZE
    max_bytes: int | None = None
    dry_run: bool = False


def content_md5(body: bytes) -> str:
    """Base64 MD5, the form S3's Content-MD5 header takes."""
    return base64.b64encode(hashlib.md5(body).digest()).decode("ascii")


class CoreStorageOpPlugin:
    """casman's own implementation of ``casman_storage_op``: perform the request, passing
    each method only the arguments it accepts (:mod:`casman.storage.compat`)."""

    @hookimpl(trylast=True)
    def casman_storage_op(self, backend: BackendHandle, op: StorageOp) -> StorageResult:
        impl = backend.impl
        calls = backend.calls
        if op.kind == "put":
            assert op.body is not None and op.content_md5 is not None
            conditions: dict[str, Any] = {}
            for name in ("if_none_match", "if_match"):
                value = getattr(op, name)
                if calls.accepts("put", name):
                    conditions[name] = value
                elif value is not None:
                    raise NotImplementedError(
                        f"backend {backend.name} has no conditional writes (its put() takes "
                        f"no {name}); nothing was sent"
                    )
            return impl.put(
                op.key,
                op.body,
                metadata=op.metadata,
                content_md5=op.content_md5,
                **conditions,
            )
        if op.kind == "get":
            if calls.accepts("get", "max_bytes"):
                body, info = impl.get(op.key, max_bytes=op.max_bytes)
            else:
                body, info = impl.get(op.key)  # written before get(max_bytes=…) existed
            if op.max_bytes is not None and len(body) > op.max_bytes:
                raise ObjectTooLargeError(
                    f"object {op.key} is {len(body):,} bytes, more than the "
                    f"{op.max_bytes:,} allowed; refused after reading it"
                )
            return body, info
        if op.kind == "head":
            return impl.head(op.key)
        if op.kind == "list":
            return impl.list_page(op.key, op.token, op.max_keys)
        if op.kind == "delete":
            impl.delete(op.key)
            return True
        raise ValueError(f"unknown storage operation {op.kind!r}")


DEFAULT_ATTEMPTS = 3
RETRY_PAUSES = (0.2, 1.0, 2.0)
"""Seconds to wait before the 2nd, 3rd, … attempt."""


def may_retry(op: StorageOp, error: BackendUnavailableError) -> bool:
    """Reads and deletes are idempotent; a write is repeated only if it never left."""
    return op.kind != "put" or not error.request_sent


class Storage:
    """The sync engine's view of one backend: validated keys, every call through the hook.

    Retries happen here, around the hook, so every attempt passes the wrappers: the quota
    reserves each attempt (R2 bills each), the trace shows each. Backends should not
    retry on their own for the same reason.
    """

    dry_run = False
    """True for a storage that records writes instead of sending them (``--dry-run``)."""

    def __init__(
        self,
        handle: BackendHandle,
        hook: pluggy.HookRelay,
        purpose: str = "",
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        self.handle = handle
        self._hook = hook
        self.purpose = purpose
        self.attempts = max(1, attempts)

    @property
    def name(self) -> str:
        return self.handle.name

    def _call(self, op: StorageOp) -> object:
        if not op.purpose:
            op.purpose = self.purpose
        for attempt in range(1, self.attempts + 1):
            try:
                return self._hook.casman_storage_op(backend=self.handle, op=op)
            except BackendUnavailableError as error:
                if attempt >= self.attempts or not may_retry(op, error):
                    raise
                time.sleep(RETRY_PAUSES[min(attempt - 1, len(RETRY_PAUSES) - 1)])
        raise AssertionError("unreachable")  # pragma: no cover

    def put(
        self,
        key: str,
        body: bytes,
        metadata: Mapping[str, str],
        *,
        if_none_match: str | None = None,
        if_match: str | None = None,
        md5: str | None = None,
    ) -> ObjectInfo:
        """Store ``body``; ``md5`` overrides the computed Content-MD5 (tests use it)."""
        op = StorageOp(
            "put",
            validate_key(key),
            body=body,
            metadata=dict(metadata),
            content_md5=md5 if md5 is not None else content_md5(body),
            if_none_match=if_none_match,
            if_match=if_match,
        )
        return cast(ObjectInfo, self._call(op))

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        """The body and info of ``key``; more than ``max_bytes`` raises ObjectTooLargeError."""
        op = StorageOp("get", validate_key(key), max_bytes=max_bytes)
        return cast(tuple[bytes, ObjectInfo], self._call(op))

    def head(self, key: str) -> ObjectInfo:
        return cast(ObjectInfo, self._call(StorageOp("head", validate_key(key))))

    def list_page(
        self, prefix: str, token: str | None = None, max_keys: int = DEFAULT_PAGE_SIZE
    ) -> ListPage:
        op = StorageOp("list", validate_prefix(prefix), token=token, max_keys=max_keys)
        return cast(ListPage, self._call(op))

    def list(self, prefix: str, max_keys: int = DEFAULT_PAGE_SIZE) -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, following pagination to the last page."""
        token: str | None = None
        while True:
            page = self.list_page(prefix, token, max_keys)
            yield from page.objects
            if page.next_token is None:
                return
            token = page.next_token

    def delete(self, key: str) -> None:
        self._call(StorageOp("delete", validate_key(key)))
