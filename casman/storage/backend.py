"""What a storage backend is: a small object with put/get/head/list/delete on keys.

A backend never validates keys, counts quota, retries or enforces its size limit: the host
does that around every call (see :mod:`casman.storage.operations` and
:mod:`casman.storage.put_limit`). It only moves bytes and metadata and maps its SDK's
failures onto :mod:`casman.storage.errors`.

This module is the whole contract: everything a backend may return (:class:`ObjectInfo`,
:class:`ListPage`, the errors of :mod:`casman.storage.errors` with their declared
``request_sent``) or declare (:class:`Capabilities`, the optional :class:`Tidy` method) is
here, and ``docs/writing-a-backend.md`` explains each. Nothing else is read from a backend.
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

    ``etag`` is opaque to casman: it is only compared for equality (``if_match``), so any
    string that changes whenever the body or metadata is replaced will do; a backend says
    in :attr:`Capabilities.etag` whether it is the hex MD5 of the body. ``metadata`` is the
    user metadata stored with the object (names as :attr:`Capabilities.metadata_names`
    says); a listing may leave it empty when the backend's LIST does not return it.
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
    PreconditionFailedError. They must be atomic where the store checks them (a server-side
    precondition, an exclusive create, a compare-and-swap under a real lock), never a
    check-then-write; a backend that cannot do that declares ``conditional_writes=False``
    and may leave both parameters out of ``put`` (the host never passes them then).
    ``content_md5`` is the base64 MD5 of ``body``; a backend must refuse
    (ChecksumMismatchError) and store nothing when it does not match.

    The host passes each method only the arguments it accepts (:mod:`casman.storage.compat`):
    a ``get`` without ``max_bytes`` is called without it and the host enforces the limit.

    A backend instance may also carry a ``capabilities`` attribute (a :class:`Capabilities`):
    the host then uses it instead of the registered spec's, for a backend whose abilities
    depend on its settings (``fsspec`` has conditional writes on some filesystems only).
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


EtagForm = Literal["opaque", "md5"]
"""``md5``: an ETag is the hex MD5 of the body (S3 single-part uploads); ``opaque``: any
string that changes when the object is replaced (a SHA-256, a generation number…)."""

ListingOrder = Literal["sorted", "unordered"]
"""``sorted``: each listing page is in key order and pages follow each other in key order;
``unordered``: every key appears exactly once across the pages, in no promised order."""

MetadataNames = Literal["lowercase", "preserved"]
"""``lowercase``: metadata names come back lower-cased (S3); ``preserved``: as they were
sent. casman itself only sends lower-case names, so either works for backups."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do beyond the five calls, and what the conformance suite may
    assume about it.

    - ``conditional_writes``: ``if_none_match``/``if_match`` are real (see
      :class:`Backend`). Without them casman publishes all the same, with plain writes: a
      head update lost to another site's costs a re-upload, never data
      (``docs/writing-a-backend.md`` says what exactly).
    - ``cost_model``: how requests are billed (the quota wrapper counts by it).
    - ``max_single_put_bytes``: the largest body one ``put`` may carry. The host refuses
      a larger upload with ObjectTooLargeError (``request_sent=False``) before it is
      counted or sent; the backend never sees it.
    - ``etag``, ``listing_order``, ``metadata_names``: the forms a backend promises
      (:data:`EtagForm`, :data:`ListingOrder`, :data:`MetadataNames`). The defaults promise
      the least about ETags (opaque) and what casman relies on for listings (sorted).
    """

    conditional_writes: bool = False
    cost_model: CostModel = field(default_factory=CostModel)
    max_single_put_bytes: int = 100 * 1024 * 1024
    etag: EtagForm = "opaque"
    listing_order: ListingOrder = "sorted"
    metadata_names: MetadataNames = "lowercase"


BackendFactory = Callable[[Mapping[str, Any]], Backend]


@dataclass(frozen=True)
class BackendSpec:
    """What a plugin registers: a name, a factory, and what the host needs to know.

    The factory receives the resolved options (config section overlaid with environment
    variables and defaults) and returns a ready backend; it should not do network I/O so
    that ``casman sync status`` can report reachability itself. When its return annotation
    names the backend's class, the class is checked when the plugin registers.
    """

    name: str
    factory: BackendFactory
    description: str
    options: tuple[BackendOption, ...] = ()
    capabilities: Capabilities = field(default_factory=Capabilities)
    protocol: int = 1
    """The storage protocol (the version of ``docs/writing-a-backend.md``) the backend was
    written to; 1 when not declared, as the first guide had no number. A version this
    casman does not serve is refused at load (:mod:`casman.storage.compat`)."""


OperationKind = Literal["put", "get", "head", "list", "delete"]


@runtime_checkable
class Tidy(Protocol):
    """Optional: a backend that keeps bookkeeping files of its own tidies them here.

    ``casman sync maintain`` calls ``tidy(prefix)`` once (never in a dry run) on a backend
    that has the method: it may rewrite objects stored in an older layout of the same
    backend and remove what a crashed writer left behind (metadata without its object,
    temp files), taking the same locks as its writes so that nothing in flight is touched.
    It returns one line per thing done, for the report; an empty list when there was
    nothing to do. It must never remove or change what a reader could see as an object.
    """

    def tidy(self, prefix: str) -> list[str]: ...


def declared_capabilities(impl: object, spec: BackendSpec) -> Capabilities:
    """What ``impl`` declares on itself (``impl.capabilities``), else its spec's."""
    own = getattr(impl, "capabilities", None)
    return own if isinstance(own, Capabilities) else spec.capabilities
