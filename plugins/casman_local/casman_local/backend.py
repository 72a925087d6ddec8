"""``LocalBackend``: one file per object, so metadata travels with the body atomically.

Each object is the file ``<root>/<key>@casman``: a header line
``CASMAN-OBJECT/1 {"md5": …, "metadata": {…}, "size": …}`` followed by the body. A write
goes to a temp file in the same directory, is fsynced, then published by ``os.replace``
(or ``os.link`` for ``if_none_match="*"``, which fails atomically when the target exists),
so a reader sees the old object or the new one, never half of one, and a backup's metadata
can never be missing. ``@`` cannot occur in a key, so an object file can never collide with
a directory that holds other keys (``a`` and ``a/b`` coexist) and temp files
(``.<name>@casman.<random>.tmp``) and the lock folder are never listed.

fsspec is imported when the backend is created, not when the plugin is loaded, so commands
that never touch storage do not pay for it. Reads and listings go through fsspec's
LocalFileSystem; the publish step uses ``os`` because fsync, link and rename-over are
what make it atomic and fsspec does not expose them.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from casman.storage import (
    BackendUnavailableError,
    ChecksumMismatchError,
    InvalidKeyError,
    ListPage,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectTooLargeError,
    PreconditionFailedError,
    validate_key,
)

SUFFIX = "@casman"
MAGIC = b"CASMAN-OBJECT/1 "
LOCK_DIR = "@locks"
MAX_HEADER_BYTES = 1024 * 1024
LOCK_TIMEOUT_SECONDS = 30.0
# Filesystems without hard links (FAT on USB sticks, some SMB mounts) fail os.link with one
# of these; there the create-only write falls back to a check-then-rename under the lock.
_NO_LINK_ERRNOS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


@dataclass(frozen=True)
class Header:
    """The first line of an object file."""

    md5: str
    size: int
    metadata: Mapping[str, str]
    length: int  # bytes of the header line, newline included

    @staticmethod
    def encode(md5: str, size: int, metadata: Mapping[str, str]) -> bytes:
        payload = {"md5": md5, "size": size, "metadata": dict(metadata)}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return MAGIC + text.encode("ascii") + b"\n"


def _damaged(key: str, why: str) -> ChecksumMismatchError:
    return ChecksumMismatchError(f"stored object {key} is damaged ({why}); restore another backup")


def read_header(stream: IO[bytes], key: str) -> Header:
    """Parse the header line; anything unexpected means the file is damaged."""
    line = stream.readline(MAX_HEADER_BYTES)
    if not line.startswith(MAGIC) or not line.endswith(b"\n"):
        raise _damaged(key, "no casman object header")
    try:
        payload = json.loads(line[len(MAGIC) :])
        metadata = {str(name): str(value) for name, value in payload["metadata"].items()}
        return Header(str(payload["md5"]), int(payload["size"]), metadata, len(line))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _damaged(key, "unreadable header") from None


def _sent_md5(content_md5: str) -> bytes:
    """The 16-byte digest a Content-MD5 header claims."""
    try:
        sent = base64.b64decode(content_md5, validate=True)
    except (binascii.Error, ValueError):
        raise ChecksumMismatchError("Content-MD5 is not valid base64; nothing was stored") from None
    if len(sent) != 16:
        raise ChecksumMismatchError("Content-MD5 is not an MD5 digest; nothing was stored")
    return sent


def _mismatch() -> ChecksumMismatchError:
    return ChecksumMismatchError(
        "upload does not match its Content-MD5 (corrupted in transit?); nothing was stored"
    )


def _fsync_dir(directory: str) -> None:
    """Make a rename durable; not every platform or filesystem allows it, hence best effort."""
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _timestamp(mtime: Any) -> datetime | None:
    if isinstance(mtime, int | float):
        return datetime.fromtimestamp(mtime, UTC)
    return None


class LocalBackend:
    """Objects under ``root``; the directory is created on the first write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        import fsspec

        self.root = os.path.abspath(os.path.expanduser(os.fspath(root)))
        self.fs: Any = fsspec.filesystem("file")

    def __repr__(self) -> str:
        return f"LocalBackend({self.root!r})"

    # -- paths and locks ---------------------------------------------------------------

    def object_path(self, key: str) -> str:
        """Where ``key`` lives. Keys are validated again: this is what keeps them in root."""
        validate_key(key)
        return os.path.join(self.root, *key.split("/")) + SUFFIX

    def _key_of(self, path: str) -> str | None:
        relative = os.path.relpath(path, self.root).replace(os.sep, "/")
        if not relative.endswith(SUFFIX):
            return None
        key = relative[: -len(SUFFIX)]
        try:
            return validate_key(key)
        except InvalidKeyError:
            return None  # a stray file someone copied in; not an object

    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """Serialise writers of one key (if_match is compare-then-swap)."""
        from filelock import FileLock, Timeout

        lock_dir = os.path.join(self.root, LOCK_DIR)
        self._makedirs(lock_dir)
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40] + ".lock"
        lock = FileLock(os.path.join(lock_dir, name), timeout=LOCK_TIMEOUT_SECONDS)
        try:
            lock.acquire()
        except Timeout:
            raise BackendUnavailableError(
                f"object {key} in {self.root} is locked by another writer; try again"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _makedirs(self, directory: str) -> None:
        try:
            self.fs.makedirs(directory, exist_ok=True)
        except OSError as error:
            raise self._unavailable("create", directory, error) from None

    @staticmethod
    def _unavailable(action: str, path: str, error: OSError) -> BackendUnavailableError:
        reason = error.strerror or type(error).__name__
        return BackendUnavailableError(
            f"local backend cannot {action} {path}: {reason}; check CASMAN_LOCAL_PATH"
        )

    # -- the five calls ----------------------------------------------------------------

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
        path = self.object_path(key)
        sent = _sent_md5(content_md5)
        md5 = sent.hex()
        clean = {str(name).lower(): str(value) for name, value in metadata.items()}
        directory = os.path.dirname(path)
        self._makedirs(directory)
        temp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
        try:
            # hashing and writing both release the GIL: verify while the temp file is written,
            # and publish only a body that matched
            with ThreadPoolExecutor(max_workers=1) as pool:
                actual = pool.submit(lambda: hashlib.md5(body).digest())
                self._write_temp(temp, Header.encode(md5, len(body), clean), body)
                if actual.result() != sent:
                    raise _mismatch()
            with self._locked(key):
                self._publish(key, temp, path, if_none_match, if_match)
        except OSError as error:
            raise self._unavailable("write", path, error) from None
        finally:
            with suppress(FileNotFoundError):
                os.unlink(temp)
        _fsync_dir(directory)
        return ObjectInfo(
            key=key,
            size=len(body),
            etag=md5,
            last_modified=self._mtime(path),
            metadata=clean,
        )

    @staticmethod
    def _write_temp(temp: str, header: bytes, body: bytes) -> None:
        with open(temp, "xb") as stream:
            stream.write(header)
            stream.write(body)
            stream.flush()
            os.fsync(stream.fileno())

    def _publish(
        self, key: str, temp: str, path: str, if_none_match: str | None, if_match: str | None
    ) -> None:
        if if_none_match == "*":
            try:
                os.link(temp, path)
                return
            except FileExistsError:
                raise PreconditionFailedError(
                    f"object {key} already exists; it is never overwritten"
                ) from None
            except OSError as error:
                if error.errno not in _NO_LINK_ERRNOS:
                    raise
            if os.path.exists(path):  # no hard links here: the lock makes this safe
                raise PreconditionFailedError(
                    f"object {key} already exists; it is never overwritten"
                )
        elif if_match is not None:
            try:
                current = self.head(key).etag
            except ObjectNotFoundError:
                raise PreconditionFailedError(
                    f"object {key} does not exist, so it cannot match the expected ETag"
                ) from None
            if current.strip('"') != if_match.strip('"'):
                raise PreconditionFailedError(
                    f"object {key} changed since it was read (ETag differs); not overwritten"
                )
        os.replace(temp, path)

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        path = self.object_path(key)
        try:
            with self.fs.open(path, "rb") as stream:
                header = read_header(stream, key)
                if max_bytes is not None and header.size > max_bytes:
                    raise ObjectTooLargeError(
                        f"object {key} is {header.size:,} bytes, more than the "
                        f"{max_bytes:,} allowed; not read"
                    )
                body: bytes = stream.read()
        except FileNotFoundError:
            raise ObjectNotFoundError(f"object {key} not found in {self.root}") from None
        except OSError as error:
            raise self._unavailable("read", path, error) from None
        if len(body) != header.size:
            raise _damaged(key, f"{len(body)} bytes instead of {header.size}")
        if hashlib.md5(body).hexdigest() != header.md5:
            raise _damaged(key, "MD5 of the body differs from the one recorded")
        return body, self._info(key, header, path)

    def head(self, key: str) -> ObjectInfo:
        path = self.object_path(key)
        try:
            with self.fs.open(path, "rb") as stream:
                header = read_header(stream, key)
            file_size = os.path.getsize(path)
        except FileNotFoundError:
            raise ObjectNotFoundError(f"object {key} not found in {self.root}") from None
        except OSError as error:
            raise self._unavailable("read", path, error) from None
        if file_size - header.length != header.size:  # truncated: cheap to catch here
            raise _damaged(key, f"{file_size - header.length} bytes instead of {header.size}")
        return self._info(key, header, path)

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage:
        keys = sorted(
            key
            for key in self._keys_under(prefix)
            if key.startswith(prefix) and (token is None or key > token)
        )
        page = keys[: max(max_keys, 1)]
        objects = tuple(info for info in map(self._listed, page) if info is not None)
        next_token = page[-1] if len(keys) > len(page) else None
        return ListPage(objects=objects, next_token=next_token)

    def delete(self, key: str) -> None:
        path = self.object_path(key)
        if not os.path.isdir(self.root):
            return
        try:
            with self._locked(key):
                self.fs.rm_file(path)
        except FileNotFoundError:
            return  # S3 semantics: deleting a missing key succeeds
        except OSError as error:
            raise self._unavailable("delete", path, error) from None

    # -- helpers -----------------------------------------------------------------------

    def _keys_under(self, prefix: str) -> Iterator[str]:
        """Keys in the deepest directory the prefix names, so a listing walks only that."""
        folder = prefix.rpartition("/")[0]
        start = os.path.join(self.root, *folder.split("/")) if folder else self.root
        if not os.path.isdir(start):
            return
        for path in self.fs.find(start, withdirs=False):
            key = self._key_of(path)
            if key is not None:
                yield key

    def _listed(self, key: str) -> ObjectInfo | None:
        """A listing entry; a damaged file is still listed (empty ETag) so `maintain` sees it."""
        path = self.object_path(key)
        try:
            return self.head(key)
        except ObjectNotFoundError:
            return None  # deleted while listing
        except ChecksumMismatchError:
            size = os.path.getsize(path) if os.path.exists(path) else 0
            return ObjectInfo(key=key, size=size, etag="", last_modified=self._mtime(path))

    def _info(self, key: str, header: Header, path: str) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=header.size,
            etag=header.md5,
            last_modified=self._mtime(path),
            metadata=dict(header.metadata),
        )

    def _mtime(self, path: str) -> datetime | None:
        try:
            return _timestamp(self.fs.info(path).get("mtime"))
        except OSError:
            return None
