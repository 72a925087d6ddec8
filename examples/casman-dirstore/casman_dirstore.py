"""casman backend 'dirstore': one file per object plus a JSON sidecar for its metadata."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from casman.storage import (
    BackendOption,
    BackendSpec,
    Capabilities,
    ChecksumMismatchError,
    ListPage,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectTooLargeError,
    PreconditionFailedError,
    hookimpl,
)


class DirStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _paths(self, key: str) -> tuple[Path, Path]:
        data = self.root / key
        return data, data.with_name(data.name + "@meta.json")  # '@' is never in a key

    @contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "@lock", "a") as lock:
            fcntl.flock(lock, mode)  # released when the file is closed
            yield

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
        if base64.b64encode(hashlib.md5(body).digest()).decode() != content_md5:
            raise ChecksumMismatchError(f"upload of {key} does not match its Content-MD5")
        etag = hashlib.sha256(body).hexdigest()  # ETags are opaque: SHA-256 is fine
        data, meta = self._paths(key)
        with self._locked(fcntl.LOCK_EX):
            if if_none_match == "*" and data.exists():
                raise PreconditionFailedError(f"{key} already exists")
            if if_match is not None and (not data.exists() or self._etag(key) != if_match):
                raise PreconditionFailedError(f"{key} does not have ETag {if_match}")
            data.parent.mkdir(parents=True, exist_ok=True)
            info = {"etag": etag, "metadata": {k.lower(): v for k, v in metadata.items()}}
            for path, content in ((meta, json.dumps(info).encode()), (data, body)):
                temp = path.with_name(path.name + "@tmp")
                temp.write_bytes(content)
                os.replace(temp, path)  # sidecar first: the object is visible only with it
        return ObjectInfo(key=key, size=len(body), etag=etag, metadata=info["metadata"])

    def _etag(self, key: str) -> str:
        return str(json.loads(self._paths(key)[1].read_text())["etag"])

    def _info(self, key: str) -> ObjectInfo:
        data, meta = self._paths(key)
        if not data.is_file():
            raise ObjectNotFoundError(f"{key} not found")
        info = json.loads(meta.read_text())
        return ObjectInfo(
            key=key, size=data.stat().st_size, etag=info["etag"], metadata=info["metadata"]
        )

    def head(self, key: str) -> ObjectInfo:
        with self._locked(fcntl.LOCK_SH):
            return self._info(key)

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        with self._locked(fcntl.LOCK_SH):
            info = self._info(key)
            if max_bytes is not None and info.size > max_bytes:
                raise ObjectTooLargeError(f"{key} is larger than {max_bytes} bytes")
            return self._paths(key)[0].read_bytes(), info

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage:
        keys = sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and "@" not in p.name
        )
        keys = [k for k in keys if k.startswith(prefix) and (token is None or k > token)]
        page = keys[:max_keys]
        more = len(keys) > len(page)
        return ListPage(tuple(self.head(k) for k in page), page[-1] if more else None)

    def delete(self, key: str) -> None:
        if not self.root.exists():
            return
        with self._locked(fcntl.LOCK_EX):
            for path in self._paths(key):  # the object first: a sidecar alone is no object
                path.unlink(missing_ok=True)


def _factory(options: Mapping[str, Any]) -> DirStore:
    return DirStore(Path(str(options["root"])).expanduser())


SPEC = BackendSpec(
    name="dirstore",
    factory=_factory,
    description="Objects as files with JSON metadata sidecars.",
    options=(BackendOption("root", "Where objects are kept.", env="DIRSTORE_ROOT", required=True),),
    capabilities=Capabilities(
        conditional_writes=True, etag="opaque", listing_order="sorted", metadata_names="lowercase"
    ),
    protocol=4,
)


@hookimpl
def casman_register_backends(register: Callable[[BackendSpec], None]) -> None:
    register(SPEC)
