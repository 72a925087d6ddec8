"""``FsspecBackend``: a casman backend on any fsspec URL, with the guarantees the URL's
filesystem really has.

Conditional writes are declared per filesystem, from what fsspec's implementation of it
can do atomically (:mod:`casman_fsspec.tree` explains what is needed):

- ``memory://``: every call holds one lock of this process, where the store lives;
- ``file://``: ``O_EXCL`` and ``os.replace``;
- ``sftp://`` / ``ssh://``, through paramiko or sshfs (whichever class fsspec resolves): an
  exclusive open and ``posix-rename@openssh.com``;
- ``s3://`` / ``s3a://`` (s3fs): S3's own ``If-None-Match`` / ``If-Match`` on one PUT;
- anything else (gcs, azure, webdav, smb…): none, and none is emulated. casman publishes
  there all the same, with plain writes: see the README for what that costs.

The filesystem is created on first use, so building a backend does no network I/O.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from casman.storage import (
    BackendConfigError,
    Capabilities,
    ChecksumMismatchError,
    CostModel,
    ListPage,
    ObjectInfo,
)
from casman_fsspec.tree import (
    Entry,
    LocalPrimitives,
    MemoryPrimitives,
    Primitives,
    SFTPPrimitives,
    SSHFSPrimitives,
    TreeStore,
)

S3_PROTOCOLS = {"s3", "s3a"}
S3_MAX_SINGLE_PUT_BYTES = 5 * 1024**3
INSTALL_HINTS: Mapping[str, str] = {
    "sftp": "pip install 'casman-fsspec[sftp]' (paramiko) or 'casman-fsspec[sshfs]'",
    "ssh": "pip install 'casman-fsspec[sftp]' (paramiko) or 'casman-fsspec[sshfs]'",
    "s3": "pip install 'casman-fsspec[s3]' (s3fs)",
    "s3a": "pip install 'casman-fsspec[s3]' (s3fs)",
    "gcs": "pip install 'casman-fsspec[gcs]' (gcsfs)",
    "gs": "pip install 'casman-fsspec[gcs]' (gcsfs)",
    "az": "pip install 'casman-fsspec[azure]' (adlfs)",
    "abfs": "pip install 'casman-fsspec[azure]' (adlfs)",
    "webdav": "pip install 'casman-fsspec[webdav]' (webdav4)",
    "smb": "pip install 'casman-fsspec[smb]' (smbprotocol)",
}


def protocol_of(url: str) -> str:
    """The URL's protocol (``file`` for a plain path); chained URLs are refused."""
    if "::" in url:
        raise BackendConfigError(
            "backend fsspec takes one filesystem URL, not a chained one (a::b); set "
            "CASMAN_FSSPEC_URL or fsspec.url"
        )
    scheme, separator, _ = url.partition("://")
    return scheme.lower() if separator else "file"


PRIMITIVES: Mapping[str, Callable[[], Primitives]] = {
    "fsspec.implementations.memory.MemoryFileSystem": MemoryPrimitives,
    "fsspec.implementations.local.LocalFileSystem": LocalPrimitives,
    "fsspec.implementations.sftp.SFTPFileSystem": SFTPPrimitives,
    "sshfs.spec.SSHFileSystem": SSHFSPrimitives,
}
"""The filesystem classes whose atomic operations casman knows, by their full name: a
protocol may resolve to either of two classes (``sftp``: paramiko's, or sshfs's when sshfs
is installed). A subclass is not assumed to keep its base's guarantees: it may override
the very calls they rest on."""


def primitives_for(protocol: str, filesystem_class: type) -> Primitives | None:
    """The atomic operations of whatever class fsspec resolves for the protocol, or None:
    decided by the class, never assumed from the protocol's name."""
    make = PRIMITIVES.get(f"{filesystem_class.__module__}.{filesystem_class.__qualname__}")
    return make() if make is not None else None


def capabilities_for(protocol: str, primitives: Primitives | None) -> Capabilities:
    cost = CostModel(default_limits={}, label=f"fsspec {protocol}")
    if protocol in S3_PROTOCOLS:
        return Capabilities(
            conditional_writes=True,
            cost_model=cost,
            max_single_put_bytes=S3_MAX_SINGLE_PUT_BYTES,
            etag="opaque",  # MD5 for plain PUTs on AWS, not with SSE-KMS or on every clone
        )
    return Capabilities(conditional_writes=primitives is not None, cost_model=cost, etag="md5")


class FsspecBackend:
    """One fsspec URL as a casman backend; ``capabilities`` says what this URL guarantees."""

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        import fsspec

        self.url = url
        self.options = dict(options or {})
        self.protocol = protocol_of(url)
        try:
            filesystem_class = fsspec.get_filesystem_class(self.protocol)
        except ValueError:
            raise BackendConfigError(
                f"fsspec does not know the protocol {self.protocol!r} of CASMAN_FSSPEC_URL"
            ) from None
        except ImportError:
            hint = INSTALL_HINTS.get(self.protocol, "install the package fsspec names for it")
            raise BackendConfigError(
                f"backend fsspec needs a package for {self.protocol}:// URLs: {hint}"
            ) from None
        self.primitives = primitives_for(self.protocol, filesystem_class)
        self.capabilities = capabilities_for(self.protocol, self.primitives)
        where = f"{self.protocol}://…" if self.protocol != "file" else url
        self.where = _masked(url) if self.protocol != "file" else where
        if self.protocol in S3_PROTOCOLS:
            from casman_fsspec.s3 import S3Store

            self.store: Any = S3Store(self._connect, self.where)
        else:
            self.store = TreeStore(self._connect, self.where, self.primitives)

    def __repr__(self) -> str:
        return f"FsspecBackend({self.where!r})"

    def _connect(self) -> tuple[Any, str]:
        import fsspec.core

        fs, path = fsspec.core.url_to_fs(self.url, skip_instance_cache=True, **self.options)
        return fs, str(path)

    @property
    def guarantees(self) -> str:
        """One line for status output: what writes on this URL are atomic by."""
        if self.protocol in S3_PROTOCOLS:
            return "s3 (If-None-Match / If-Match on the server)"
        return self.primitives.name if self.primitives else "none (no conditional writes)"

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
        if if_none_match not in (None, "*"):
            raise ValueError("if_none_match only supports '*'")
        digest = hashlib.md5(body).digest()
        if base64.b64encode(digest).decode("ascii") != content_md5:
            raise ChecksumMismatchError(
                "upload does not match its Content-MD5 (corrupted in transit?); nothing was stored"
            )
        if isinstance(self.store, TreeStore):
            entry = Entry(digest.hex(), len(body), {k.lower(): v for k, v in metadata.items()})
            return self.store.put(
                key, body, entry=entry, if_none_match=if_none_match, if_match=if_match
            )
        result: ObjectInfo = self.store.put(
            key,
            body,
            metadata=metadata,
            content_md5=content_md5,
            if_none_match=if_none_match,
            if_match=if_match,
        )
        return result

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        result: tuple[bytes, ObjectInfo] = self.store.get(key, max_bytes=max_bytes)
        return result

    def head(self, key: str) -> ObjectInfo:
        result: ObjectInfo = self.store.head(key)
        return result

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage:
        result: ListPage = self.store.list_page(prefix, token, max_keys)
        return result

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def tidy(self, prefix: str) -> list[str]:
        """Leftovers of crashed writers (the sidecar layout only; S3 objects have none)."""
        if isinstance(self.store, TreeStore):
            return self.store.tidy(prefix)
        return []


def _masked(url: str) -> str:
    """The URL without its user info or query (where a password could be)."""
    scheme, _, rest = url.partition("://")
    host_and_path = rest.rpartition("@")[2].split("?")[0]
    return f"{scheme}://{host_and_path}"
