"""``LocalBackend``: every object is a plain file, its metadata in a file beside it.

For the key ``backups/parts.db/20261122_144609_parts.db`` the store holds::

    backups/parts.db/20261122_144609_parts.db             the body: the SQLite file itself
    backups/parts.db/20261122_144609_parts.db@meta.json   its MD5, size and metadata
    .casman@lock                                           one lock file for the whole store

so a backup opens with ``sqlite3`` on the day casman is unavailable. The layout and the
reader's entry matching are :mod:`casman.storage.plainfiles`, shared with ``fsspec``.
``@`` cannot occur in a key, so no sidecar, temp file (``.<name>@<random>.tmp``) or lock
can be taken for an object, and a key such as ``HEAD.json`` has a sidecar
(``HEAD.json@meta.json``) that no key can name.

Why a reader never sees an object without its metadata, nor a half-written one:

- A writer writes the body to a temp file and fsyncs it, then, holding the store lock,
  replaces the sidecar by one listing the new body's entry *and* the current body's
  (rename, fsync), and only then publishes the body (``os.link`` for ``if_none_match``,
  which fails if the key exists; ``os.replace`` otherwise). At every instant, and after a
  crash at any point, the sidecar describes the visible body.
- A reader opens (or stats) the body first and reads the sidecar after it, so the sidecar
  it reads was written no earlier than the body it holds; it takes the entry whose size
  (and, when two entries have the same size, MD5) matches. A mismatch means a writer
  replaced both in between: it tries again, and only a persistent mismatch is damage.
- A delete removes the body, then the sidecar. A sidecar without a body (a crashed writer
  or delete) is not an object: it is never listed, and ``tidy`` (``casman sync maintain``)
  removes it under the lock. A body without a sidecar (a file copied in by hand) is an
  object with empty metadata whose ETag is the MD5 of its bytes.

Conditional writes are real: ``if_none_match`` is the create-only ``os.link``, and
``if_match`` compares and swaps under an exclusive ``flock`` on the store's single lock
file, which the kernel releases if the process dies. Readers take no lock, so a store on
read-only media can be read.

Stores written by casman 0.1 (``<key>@casman``: a JSON header line, then the body) are
read as they are; ``tidy`` rewrites them in this layout and removes the old ``@locks/``.
Only ``os`` is used: fsync, link and rename are what make this safe, and fsspec exposes
none of them.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import json
import os
import secrets
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from casman.storage import (
    BackendUnavailableError,
    ChecksumMismatchError,
    InvalidKeyError,
    ListPage,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectTooLargeError,
    PreconditionFailedError,
    plainfiles,
    validate_key,
)
from casman.storage.plainfiles import (
    MAX_META_BYTES,
    META_SUFFIX,
    READ_ATTEMPTS,
    Entry,
    encode_meta,
    entries_for,
)

LOCK_NAME = ".casman@lock"
"""The store's one lock file, at its root."""
LEGACY_SUFFIX = "@casman"
LEGACY_MAGIC = b"CASMAN-OBJECT/1 "
LEGACY_LOCK_DIR = "@locks"
MAX_HEADER_BYTES = 1024 * 1024
LOCK_TIMEOUT_SECONDS = 30.0
READ_PAUSE_SECONDS = 0.02
# Filesystems without hard links (FAT on USB sticks, some SMB mounts) fail os.link with one
# of these; there the create-only publish is a rename, made safe by the store lock (every
# casman writer holds it) though not against other programs writing into the folder.
_NO_LINK_ERRNOS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


_damaged = plainfiles.damaged
_is_ours = plainfiles.is_bookkeeping


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


def _mtime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class LegacyHeader:
    """The first line of a casman 0.1 object file (``<key>@casman``)."""

    md5: str
    size: int
    metadata: Mapping[str, str]
    length: int  # bytes of the header line, newline included


def read_legacy_header(stream: IO[bytes], key: str) -> LegacyHeader:
    line = stream.readline(MAX_HEADER_BYTES)
    if not line.startswith(LEGACY_MAGIC) or not line.endswith(b"\n"):
        raise _damaged(key, "no casman object header")
    try:
        payload = json.loads(line[len(LEGACY_MAGIC) :])
        metadata = {str(name): str(value) for name, value in payload["metadata"].items()}
        return LegacyHeader(str(payload["md5"]), int(payload["size"]), metadata, len(line))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _damaged(key, "unreadable header") from None


class LocalBackend:
    """Objects under ``root``; the directory is created on the first write."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.path.expanduser(os.fspath(root)))

    def __repr__(self) -> str:
        return f"LocalBackend({self.root!r})"

    # -- paths -------------------------------------------------------------------------

    def object_path(self, key: str) -> str:
        """Where ``key``'s body lives. Keys are validated again: this keeps them in root."""
        validate_key(key)
        return os.path.join(self.root, *key.split("/"))

    @staticmethod
    def meta_path(path: str) -> str:
        return path + META_SUFFIX

    @staticmethod
    def legacy_path(path: str) -> str:
        return path + LEGACY_SUFFIX

    # -- the store lock ----------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive ``flock`` on the store's one lock file: writers take turns.

        The file is created once and stays (one file for the whole store); the kernel
        drops the lock when its holder dies, so a crash never leaves the store locked.
        """
        import fcntl

        self._makedirs(self.root)
        path = os.path.join(self.root, LOCK_NAME)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise self._unavailable("lock", path, error) from None
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise BackendUnavailableError(
                            f"{self.root} is locked by another casman writer for more than "
                            f"{LOCK_TIMEOUT_SECONDS:.0f} s; try again"
                        ) from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(fd)  # releases the flock

    def _makedirs(self, directory: str, key: str | None = None) -> None:
        try:
            os.makedirs(directory, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise self._folder_clash(key or directory) from None
        except OSError as error:
            raise self._unavailable("create", directory, error) from None

    def _folder_clash(self, key: str) -> InvalidKeyError:
        return InvalidKeyError(
            f"key {key} cannot be a file in {self.root}: a part of its path is already an "
            "object, or the key is a folder of other objects (the local backend stores keys "
            "as plain files)",
            request_sent=False,
        )

    def _check_root(self) -> None:
        """A store path that exists but is not a folder (an unmounted NAS left a file, a
        typo) is unavailable, not an empty store: reads must say so, not find nothing."""
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise BackendUnavailableError(
                f"local backend store {self.root} is not a directory; check CASMAN_LOCAL_PATH "
                "(is the disk mounted?)",
                request_sent=False,
            )

    @staticmethod
    def _unavailable(action: str, path: str, error: OSError) -> BackendUnavailableError:
        reason = error.strerror or type(error).__name__
        return BackendUnavailableError(
            f"local backend cannot {action} {path}: {reason}; check CASMAN_LOCAL_PATH"
        )

    # -- sidecars ----------------------------------------------------------------------

    def _entries(self, path: str, key: str) -> list[Entry] | None:
        """The entries of ``path``'s sidecar; None when it has none."""
        try:
            with open(self.meta_path(path), "rb") as stream:
                raw = stream.read(MAX_META_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise self._unavailable("read", self.meta_path(path), error) from None
        return plainfiles.decode_meta(raw, key)

    def _write_meta(self, path: str, entries: Sequence[Entry]) -> None:
        """Replace the sidecar atomically and durably (before the body it describes)."""
        meta = self.meta_path(path)
        directory, name = os.path.split(path)
        temp = os.path.join(directory, f".{name}@{secrets.token_hex(8)}.tmp")
        try:
            with open(temp, "xb") as stream:
                stream.write(encode_meta(entries))
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, meta)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(temp)
        _fsync_dir(directory)

    # -- reading -----------------------------------------------------------------------

    def _read(
        self, key: str, *, want_body: bool, max_bytes: int | None = None
    ) -> tuple[bytes | None, ObjectInfo]:
        path = self.object_path(key)
        entries: list[Entry] | None = None
        size = 0
        for attempt in range(READ_ATTEMPTS):
            if attempt:
                time.sleep(READ_PAUSE_SECONDS)  # a writer is between sidecar and body
            try:
                stream = open(path, "rb")  # noqa: SIM115 - closed below, on every path
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                self._check_root()
                return self._read_legacy(key, path, want_body=want_body, max_bytes=max_bytes)
            except OSError as error:
                raise self._unavailable("read", path, error) from None
            with stream:
                status = os.fstat(stream.fileno())
                if not stat.S_ISREG(status.st_mode):
                    raise ObjectNotFoundError(f"object {key} not found in {self.root}")
                entries = self._entries(path, key)  # read after the body was opened
                size = status.st_size
                if max_bytes is not None and size > max_bytes:
                    raise ObjectTooLargeError(
                        f"object {key} is {size:,} bytes, more than the {max_bytes:,} "
                        "allowed; not read"
                    )
                candidates = plainfiles.of_size(entries, size)
                if not want_body and entries is not None:
                    if not candidates:
                        continue
                    trusted = plainfiles.unambiguous(candidates)
                    if trusted is not None:
                        return None, self._info(key, trusted, status.st_mtime)
                try:
                    body = stream.read()
                except OSError as error:
                    raise self._unavailable("read", path, error) from None
            match = plainfiles.match_body(entries, body)
            if match is not None:
                return body if want_body else None, self._info(key, match, status.st_mtime)
        raise plainfiles.mismatch(key, entries, size)

    def _read_legacy(
        self, key: str, path: str, *, want_body: bool, max_bytes: int | None
    ) -> tuple[bytes | None, ObjectInfo]:
        """An object of the 0.1 layout (``<key>@casman``), read as it is."""
        legacy = self.legacy_path(path)
        try:
            with open(legacy, "rb") as stream:
                header = read_legacy_header(stream, key)
                status = os.fstat(stream.fileno())
                if max_bytes is not None and header.size > max_bytes:
                    raise ObjectTooLargeError(
                        f"object {key} is {header.size:,} bytes, more than the "
                        f"{max_bytes:,} allowed; not read"
                    )
                if not want_body:
                    if status.st_size - header.length != header.size:
                        raise _damaged(
                            key, f"{status.st_size - header.length} bytes instead of {header.size}"
                        )
                    entry = Entry(header.md5, header.size, header.metadata)
                    return None, self._info(key, entry, status.st_mtime)
                body = stream.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ObjectNotFoundError(f"object {key} not found in {self.root}") from None
        except OSError as error:
            raise self._unavailable("read", legacy, error) from None
        if len(body) != header.size:
            raise _damaged(key, f"{len(body)} bytes instead of {header.size}")
        if hashlib.md5(body).hexdigest() != header.md5:
            raise _damaged(key, "MD5 of the body differs from the one recorded")
        return body, self._info(
            key, Entry(header.md5, header.size, header.metadata), status.st_mtime
        )

    def _current(self, key: str) -> Entry | None:
        """The entry of the object a reader sees now; None when there is none."""
        try:
            info = self._read(key, want_body=False)[1]
        except ObjectNotFoundError:
            return None
        return Entry(info.etag, info.size, info.metadata)

    @staticmethod
    def _info(key: str, entry: Entry, mtime: float) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=entry.size,
            etag=entry.md5,
            last_modified=_mtime(mtime),
            metadata=dict(entry.metadata),
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
        entry = Entry(sent.hex(), len(body), {str(n).lower(): str(v) for n, v in metadata.items()})
        directory = os.path.dirname(path)
        self._makedirs(directory, key)
        temp = os.path.join(directory, f".{os.path.basename(path)}@{secrets.token_hex(8)}.tmp")
        try:
            with self._held_temp(temp) as stream:
                # hashing and writing both release the GIL: verify while the temp file is
                # written, and publish only a body that matched
                with ThreadPoolExecutor(max_workers=1) as pool:
                    actual = pool.submit(lambda: hashlib.md5(body).digest())
                    stream.write(body)
                    stream.flush()
                    os.fsync(stream.fileno())
                    if actual.result() != sent:
                        raise _mismatch()
                with self._locked():
                    self._publish(key, temp, path, entry, if_none_match, if_match)
        except OSError as error:
            raise self._unavailable("write", path, error) from None
        finally:
            with suppress(FileNotFoundError):
                os.unlink(temp)
        _fsync_dir(directory)
        return ObjectInfo(
            key=key,
            size=len(body),
            etag=entry.md5,
            last_modified=self._stat_mtime(path),
            metadata=dict(entry.metadata),
        )

    @contextmanager
    def _held_temp(self, temp: str) -> Iterator[IO[bytes]]:
        """The temp body, ``flock``-ed while this writer lives: ``tidy`` removes only the
        temp files of writers that died (their lock went with them)."""
        import fcntl

        with open(temp, "xb") as stream:
            fcntl.flock(stream.fileno(), fcntl.LOCK_EX)
            yield stream

    def _publish(
        self,
        key: str,
        temp: str,
        path: str,
        entry: Entry,
        if_none_match: str | None,
        if_match: str | None,
    ) -> None:
        """Sidecar first, then the body; the caller holds the store lock."""
        if os.path.isdir(path):
            raise self._folder_clash(key)
        try:
            current = self._current(key)
            exists = current is not None
        except ChecksumMismatchError:
            current, exists = None, True  # damaged: it can be replaced, never matched
        if if_none_match == "*" and exists:
            raise PreconditionFailedError(f"object {key} already exists; it is never overwritten")
        if if_match is not None:
            if not exists:
                raise PreconditionFailedError(
                    f"object {key} does not exist, so it cannot match the expected ETag"
                )
            if current is None or current.md5 != if_match.strip('"'):
                raise PreconditionFailedError(
                    f"object {key} changed since it was read (ETag differs); not overwritten"
                )
        entries = entries_for(entry, current)
        self._write_meta(path, entries)
        if if_none_match == "*":
            self._link_new(key, temp, path, current)
        else:
            os.replace(temp, path)
        with suppress(FileNotFoundError):
            os.unlink(self.legacy_path(path))  # the 0.1 copy of this key, now superseded

    def _link_new(self, key: str, temp: str, path: str, current: Entry | None) -> None:
        """Publish a body where none is: create-only, so nothing is ever overwritten."""
        try:
            os.link(temp, path)
            return
        except FileExistsError:
            # not a casman writer (they all hold the lock): put the sidecar back as it was
            if current is not None:
                self._write_meta(path, [current])
            else:
                with suppress(FileNotFoundError):
                    os.unlink(self.meta_path(path))
            raise PreconditionFailedError(
                f"object {key} already exists; it is never overwritten"
            ) from None
        except OSError as error:
            if error.errno not in _NO_LINK_ERRNOS:
                raise
        os.rename(temp, path)  # no hard links here; the store lock orders casman's writers

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        body, info = self._read(key, want_body=True, max_bytes=max_bytes)
        assert body is not None
        return body, info

    def head(self, key: str) -> ObjectInfo:
        return self._read(key, want_body=False)[1]

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage:
        self._check_root()
        keys = sorted(
            key
            for key in set(self._keys_under(prefix))
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
            with self._locked():
                if not os.path.isdir(path):
                    with suppress(FileNotFoundError, NotADirectoryError):
                        os.unlink(path)  # the body first: a sidecar alone is no object
                for extra in (self.meta_path(path), self.legacy_path(path)):
                    with suppress(FileNotFoundError, NotADirectoryError):
                        os.unlink(extra)
        except OSError as error:
            raise self._unavailable("delete", path, error) from None

    # -- tidy (``casman sync maintain``) -------------------------------------------------

    def tidy(self, prefix: str) -> list[str]:
        """Rewrite 0.1 objects in this layout; remove leftovers of crashed writers.

        Each step holds the store lock, so nothing a writer has in flight is touched: a
        sidecar whose body is missing is a leftover only while no writer holds the lock,
        and a temp file is a leftover only when no live writer holds its ``flock``.
        """
        done: list[str] = []
        if not os.path.isdir(self.root):
            return done
        for directory, names in self._folders(prefix):
            for name in names:
                if name.endswith(LEGACY_SUFFIX):
                    done.extend(self._convert(directory, name))
                elif name.endswith(META_SUFFIX):
                    done.extend(self._remove_orphan_meta(directory, name))
                elif name.startswith(".") and name.endswith(".tmp") and "@" in name:
                    done.extend(self._remove_dead_temp(directory, name))
        legacy_locks = os.path.join(self.root, LEGACY_LOCK_DIR)
        if os.path.isdir(legacy_locks):
            with self._locked():
                for name in os.listdir(legacy_locks):
                    with suppress(OSError):
                        os.unlink(os.path.join(legacy_locks, name))
                with suppress(OSError):
                    os.rmdir(legacy_locks)
            done.append(f"removed the 0.1 lock folder {LEGACY_LOCK_DIR}/")
        return done

    def _relative(self, path: str) -> str:
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def _convert(self, directory: str, name: str) -> list[str]:
        path = os.path.join(directory, name[: -len(LEGACY_SUFFIX)])
        key = self._relative(path)
        try:
            validate_key(key)
        except InvalidKeyError:
            return []
        with self._locked():
            legacy = self.legacy_path(path)
            if not os.path.exists(legacy):
                return []
            if os.path.lexists(path) and self._entries(path, key) is not None:
                os.unlink(legacy)  # converted before (a crash came between the steps)
                return [f"removed {key}{LEGACY_SUFFIX}, already converted"]
            try:
                body, info = self._read_legacy(key, path, want_body=True, max_bytes=None)
            except ChecksumMismatchError as error:
                return [f"left {key}{LEGACY_SUFFIX} in place: {error}"]
            assert body is not None
            entry = Entry(info.etag, info.size, info.metadata)
            temp = os.path.join(directory, f".{os.path.basename(path)}@{secrets.token_hex(8)}.tmp")
            try:
                with self._held_temp(temp) as stream:
                    stream.write(body)
                    stream.flush()
                    os.fsync(stream.fileno())
                    self._write_meta(path, [entry])
                    if os.path.lexists(path):
                        os.replace(temp, path)  # a body without sidecar: the header wins
                    else:
                        self._link_new(key, temp, path, None)
                _fsync_dir(directory)
                os.unlink(legacy)
            finally:
                with suppress(FileNotFoundError):
                    os.unlink(temp)
        return [f"converted {key} to a plain file"]

    def _remove_orphan_meta(self, directory: str, name: str) -> list[str]:
        path = os.path.join(directory, name[: -len(META_SUFFIX)])
        with self._locked():
            if os.path.lexists(path) or os.path.exists(self.legacy_path(path)):
                return []
            with suppress(FileNotFoundError):
                os.unlink(self.meta_path(path))
        return [f"removed metadata without an object: {self._relative(path)}{META_SUFFIX}"]

    def _remove_dead_temp(self, directory: str, name: str) -> list[str]:
        import fcntl

        path = os.path.join(directory, name)
        with self._locked():  # a sidecar's temp file exists only while its writer holds it
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                return []
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return []  # a live writer's body, not yet published
                with suppress(FileNotFoundError):
                    os.unlink(path)
            finally:
                os.close(fd)
        return [f"removed a temp file left by a writer that died: {self._relative(path)}"]

    # -- listing helpers ---------------------------------------------------------------

    def _start(self, prefix: str) -> str:
        folder = prefix.rpartition("/")[0]
        return os.path.join(self.root, *folder.split("/")) if folder else self.root

    def _folders(self, prefix: str) -> Iterator[tuple[str, list[str]]]:
        """(folder, file names) under the deepest folder the prefix names, ours skipped."""
        start = self._start(prefix)
        if not os.path.isdir(start):
            return
        for directory, folders, files in os.walk(start):
            folders[:] = sorted(f for f in folders if not _is_ours(f))
            yield directory, sorted(files)

    def _keys_under(self, prefix: str) -> Iterator[str]:
        """Keys in the deepest folder the prefix names, so a listing walks only that."""
        for directory, names in self._folders(prefix):
            for name in names:
                if name.endswith(LEGACY_SUFFIX):
                    name = name[: -len(LEGACY_SUFFIX)]
                elif _is_ours(name):
                    continue
                key = self._relative(os.path.join(directory, name))
                try:
                    yield validate_key(key)
                except InvalidKeyError:
                    continue  # a stray file someone copied in; not an object

    def _listed(self, key: str) -> ObjectInfo | None:
        """A listing entry; a damaged object is still listed (empty ETag) so `maintain`
        reports it."""
        try:
            return self.head(key)
        except ObjectNotFoundError:
            return None  # deleted while listing
        except ChecksumMismatchError:
            path = self.object_path(key)
            for candidate in (path, self.legacy_path(path)):
                with suppress(OSError):
                    status = os.stat(candidate)
                    return ObjectInfo(
                        key=key, size=status.st_size, etag="", last_modified=_mtime(status.st_mtime)
                    )
            return None

    @staticmethod
    def _stat_mtime(path: str) -> datetime | None:
        try:
            return _mtime(os.stat(path).st_mtime)
        except OSError:
            return None
