"""What a storage backend is: a small object with put/get/head/list/delete on keys.

A backend never validates keys, counts quota or retries: the host does that around every
call (see :mod:`casman.storage.operations`). It only moves bytes and metadata and maps its
SDK's failures onto :mod:`casman.storage.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

STANDARD_STORAGE_CLASS = "STANDARD"


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object as a listing or HEAD sees it.

    ``metadata`` is the user metadata stored with the object (lower-case keys); a listing
    may leave it empty when the backend's LIST does not return it.
    """

    key: str
    size: int
    etag: str
    last_modified: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    storage_class: str = STANDARD_STORAGE_CLASS


@dataclass(frozen=True)
class ListPage:
    """One page of a listing; ``next_token`` is None on the last page."""

    objects: tuple[ObjectInfo, ...]
    next_token: str | None = None


@runtime_checkable
class Backend(Protocol):
    """The five calls every backend implements.

    Conditional writes: ``if_none_match="*"`` stores only if the key is absent,
    ``if_match=etag`` only if the current object has that ETag; a refusal raises
    PreconditionFailedError. A backend whose capabilities say it has no conditional writes
    may raise NotImplementedError for them. ``content_md5`` is the base64 MD5 of ``body``;
    a backend must refuse (ChecksumMismatchError) and store nothing when it does not match.
    """

    def put(
        self,
        key: str,
        body: bytes,
        *,
        metadata: Mapping[str, str],
        content_md5: str,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> ObjectInfo: ...

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        """The object's body and info. With ``max_bytes``, an object larger than that raises
        ObjectTooLargeError from the announced size (Content-Length, ``stat``) before its
        body is read, so a huge or hostile object never fills memory."""
        ...

    def head(self, key: str) -> ObjectInfo: ...

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage: ...

    def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class BackendOption:
    """A setting a backend reads: from config (``<backend>: {name: …}``) or ``env``."""

    name: str
    description: str
    env: str | None = None
    secret: bool = False
    default: str | None = None
    required: bool = False


@dataclass(frozen=True)
class CostModel:
    """How a backend is billed, so the quota wrapper can count what is sent.

    ``classes`` maps an operation kind (put, get, head, list, delete) to a billing class
    name ("A", "B") or None for free. ``default_limits`` (storage_gb, class_a, class_b)
    turn enforcement on without any configuration (R2's free tier); empty means no
    enforcement unless the user configures ``<backend>: {quota: …}``.
    """

    classes: Mapping[str, str | None] = field(
        default_factory=lambda: {
            "put": "A",
            "list": "A",
            "get": "B",
            "head": "B",
            "delete": None,
        }
    )
    default_limits: Mapping[str, float] = field(default_factory=dict)
    label: str = ""


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do beyond the five calls."""

    conditional_writes: bool = False
    cost_model: CostModel = field(default_factory=CostModel)
    max_single_put_bytes: int = 100 * 1024 * 1024


BackendFactory = Callable[[Mapping[str, Any]], Backend]


@dataclass(frozen=True)
class BackendSpec:
    """What a plugin registers: a name, a factory, and what the host needs to know.

    The factory receives the resolved options (config section overlaid with environment
    variables and defaults) and returns a ready backend; it should not do network I/O so
    that ``casman sync status`` can report reachability itself.
    """

    name: str
    factory: BackendFactory
    description: str
    options: tuple[BackendOption, ...] = ()
    capabilities: Capabilities = field(default_factory=Capabilities)


OperationKind = Literal["put", "get", "head", "list", "delete"]
