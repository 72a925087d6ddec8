"""Objects as plain files on any fsspec filesystem, their metadata in a file beside them.

The layout is ``local``'s, :mod:`casman.storage.plainfiles` (one copy, shared by both): the
body at ``<root>/<key>``, its MD5, size and metadata in ``<root>/<key>@meta.json`` (so
either backend reads what the other wrote),
temp files ``.<name>@<random>.tmp``, and while a key is being written a lock file
``<name>@lock``, removed when the write ends. ``@`` cannot occur in a key.

What makes it safe is the same argument as ``local``'s (see its module): the sidecar is
replaced before the body and lists the new body and the one it replaces; readers fetch the
body first, the sidecar after it, and take the entry that matches. What a filesystem must
offer for *conditional* writes is a :class:`Primitives`: an exclusive create (the lock
file, so writers of one key take turns and a compare-and-swap is real) and an atomic
rename onto an existing name. Where fsspec offers neither for a filesystem, there is no
``Primitives``: writes are plain ``pipe_file`` calls, ``if_none_match``/``if_match`` raise
NotImplementedError, and the backend declares ``conditional_writes=False``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from typing import Any, TypeVar

from casman.storage import (
    BackendUnavailableError,
    ChecksumMismatchError,
    InvalidKeyError,
    ListPage,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectTooLargeError,
    PreconditionFailedError,
    StorageError,
    plainfiles,
    validate_key,
)
from casman.storage.plainfiles import META_SUFFIX, READ_ATTEMPTS, Entry, encode_meta

__all__ = [
    "META_SUFFIX",
    "Entry",
    "LocalPrimitives",
    "MemoryPrimitives",
    "Primitives",
    "SFTPPrimitives",
    "SSHFSPrimitives",
    "TreeStore",
    "encode_meta",
]

LOCK_SUFFIX = "@lock"
READ_PAUSE_SECONDS = 0.05
LOCK_WAIT_SECONDS = 20.0
STALE_TEMP_SECONDS = 24 * 3600.0
"""A temp file this old is a crashed writer's: ``tidy`` removes it."""

T = TypeVar("T")


_damaged = plainfiles.damaged


class Primitives:
    """The atomic operations of one filesystem that conditional writes are built on."""

    name = "none"

    def guard(self) -> Any:
        """Held around every call (only an in-process store needs one)."""
        return nullcontext()

    def create_exclusive(self, fs: Any, path: str, data: bytes) -> None:
        """Create ``path`` holding ``data``; FileExistsError if it exists (atomically)."""
        raise NotImplementedError

    def replace(self, fs: Any, source: str, target: str) -> None:
        """Rename ``source`` onto ``target`` atomically, replacing it if it exists."""
        raise NotImplementedError

    def uses_lock_files(self) -> bool:
        return True


class MemoryPrimitives(Primitives):
    """``memory://`` lives in this process: one process-wide lock makes every call atomic.

    That is real, not emulated: no other process can reach the store, and every casman
    call on it holds the lock for its whole duration.
    """

    name = "memory (one lock in this process)"
    _lock = threading.RLock()

    def guard(self) -> Any:
        return self._lock

    def create_exclusive(self, fs: Any, path: str, data: bytes) -> None:
        with self._lock:
            if fs.exists(path):
                raise FileExistsError(path)
            fs.pipe_file(path, data)

    def replace(self, fs: Any, source: str, target: str) -> None:
        with self._lock:
            fs.pipe_file(target, fs.cat_file(source))
            fs.rm_file(source)

    def uses_lock_files(self) -> bool:
        return False  # the process lock is held for the whole call


class LocalPrimitives(Primitives):
    """``file://``: ``O_CREAT | O_EXCL`` and ``os.replace``."""

    name = "local files (O_EXCL, rename)"

    def create_exclusive(self, fs: Any, path: str, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())

    def replace(self, fs: Any, source: str, target: str) -> None:
        os.replace(source, target)


class SFTPPrimitives(Primitives):
    """SFTP: ``SSH_FXF_CREAT | SSH_FXF_EXCL`` (the server's ``O_EXCL``) and the
    ``posix-rename@openssh.com`` extension (the server's ``rename(2)``)."""

    name = "sftp (exclusive open, posix-rename)"

    def create_exclusive(self, fs: Any, path: str, data: bytes) -> None:
        try:
            handle = fs.ftp.open(path, "wbx")
        except OSError as error:
            # SFTP v3 has no "already exists" status: the server says "failure" (with its
            # text); the name existing, now or a moment ago, is what refused the create
            if fs.exists(path) or "exist" in str(error).lower():
                raise FileExistsError(path) from None
            raise
        with handle:
            handle.write(data)

    def replace(self, fs: Any, source: str, target: str) -> None:
        fs.ftp.posix_rename(source, target)


class SSHFSPrimitives(Primitives):
    """SFTP through sshfs (asyncssh): the same two server operations as paramiko's, sent on
    one of sshfs's SFTP channels. sshfs's own ``mv`` falls back to copy-and-delete where
    ``posix-rename`` is missing; this never does (the rename fails instead)."""

    name = "sftp via sshfs (exclusive open, posix-rename)"

    def create_exclusive(self, fs: Any, path: str, data: bytes) -> None:
        from fsspec.asyn import sync

        async def create() -> None:
            async with fs._pool.get() as channel, channel.open(path, "xb") as handle:
                await handle.write(data)

        try:
            sync(fs.loop, create)
        except OSError:
            raise
        except Exception as error:  # asyncssh's SFTPError: v3 says "failure" for EEXIST
            if fs.exists(path) or "exist" in str(error).lower():
                raise FileExistsError(path) from None
            raise

    def replace(self, fs: Any, source: str, target: str) -> None:
        from fsspec.asyn import sync

        async def rename() -> None:
            async with fs._pool.get() as channel:
                await channel.posix_rename(source, target)

        sync(fs.loop, rename)


class TreeStore:
    """One fsspec filesystem rooted at ``root``, as a casman backend."""

    def __init__(
        self,
        connect: Callable[[], tuple[Any, str]],
        where: str,
        primitives: Primitives | None,
    ) -> None:
        self._connect = connect
        self._fs: Any = None
        self._root = ""
        self.where = where
        self.primitives = primitives

    # -- plumbing ------------------------------------------------------------------------

    @property
    def fs(self) -> Any:
        """The filesystem, connected on first use (the factory does no network I/O)."""
        if self._fs is None:
            fs, root = self._call("connect to", "", self._connect)
            self._fs, self._root = fs, root.rstrip("/")
        return self._fs

    @property
    def root(self) -> str:
        self.fs  # noqa: B018 - connects and sets the root
        return self._root

    def path(self, key: str) -> str:
        validate_key(key)
        return f"{self.root}/{key}" if self.root else key

    def _guard(self) -> Any:
        return self.primitives.guard() if self.primitives else nullcontext()

    def _call(self, action: str, key: str, function: Callable[[], T]) -> T:
        """Run one filesystem call; anything but our own errors is 'unavailable'."""
        try:
            return function()
        except (StorageError, FileNotFoundError, FileExistsError, NotImplementedError):
            raise
        except Exception as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            reason = reason or type(error).__name__
            what = f" {key}" if key else ""
            raise BackendUnavailableError(
                f"fsspec backend cannot {action}{what} on {self.where}: {reason}"
            ) from None

    def _cat(self, path: str) -> bytes:
        data: bytes = self.fs.cat_file(path)
        return data

    def _entries(self, path: str, key: str) -> list[Entry] | None:
        try:
            raw = self._call("read metadata of", key, lambda: self._cat(path + META_SUFFIX))
        except FileNotFoundError:
            return None
        return plainfiles.decode_meta(raw, key)

    def _info_of(self, path: str, key: str) -> dict[str, Any]:
        info: dict[str, Any] = self._call("read", key, lambda: self.fs.info(path))
        if info.get("type") != "file":
            raise FileNotFoundError(path)
        return info

    @staticmethod
    def _mtime(info: Mapping[str, Any]) -> datetime | None:
        for name in ("mtime", "LastModified", "last_modified", "created"):
            value = info.get(name)
            if isinstance(value, datetime):
                return value if value.tzinfo else value.replace(tzinfo=UTC)
            if isinstance(value, int | float):
                return datetime.fromtimestamp(value, UTC)
        return None

    # -- reading -------------------------------------------------------------------------

    def _read(
        self, key: str, *, want_body: bool, max_bytes: int | None = None
    ) -> tuple[bytes | None, ObjectInfo]:
        path = self.path(key)
        entries: list[Entry] | None = None
        candidates: list[Entry] = []
        size = 0
        for attempt in range(READ_ATTEMPTS):
            if attempt:
                time.sleep(READ_PAUSE_SECONDS)  # a writer is between sidecar and body
            with self._guard():
                try:
                    info = self._info_of(path, key)
                    size = int(info.get("size") or 0)
                    if max_bytes is not None and size > max_bytes:
                        raise ObjectTooLargeError(
                            f"object {key} is {size:,} bytes, more than the {max_bytes:,} "
                            "allowed; not read"
                        )
                    body = self._call("read", key, lambda: self._cat(path)) if want_body else None
                except FileNotFoundError:
                    raise ObjectNotFoundError(f"object {key} not found on {self.where}") from None
                entries = self._entries(path, key)  # read after the body
            if body is not None:
                size = len(body)
            candidates = plainfiles.of_size(entries, size)
            if body is None and entries is not None:
                if not candidates:
                    continue
                trusted = plainfiles.unambiguous(candidates)
                if trusted is not None:
                    return None, self._object(key, trusted, info)
                body = self._call("read", key, lambda: self._cat(path))  # same size: compare
            if body is None:  # no sidecar: a file put there by hand
                body = self._call("read", key, lambda: self._cat(path))
            match = plainfiles.match_body(entries, body)
            if match is not None:
                return (body if want_body else None), self._object(key, match, info)
        raise plainfiles.mismatch(key, entries, size)

    def _object(self, key: str, entry: Entry, info: Mapping[str, Any]) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=entry.size,
            etag=entry.md5,
            last_modified=self._mtime(info),
            metadata=dict(entry.metadata),
        )

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        body, info = self._read(key, want_body=True, max_bytes=max_bytes)
        assert body is not None
        return body, info

    def head(self, key: str) -> ObjectInfo:
        return self._read(key, want_body=False)[1]

    def _current(self, key: str) -> tuple[Entry | None, bool]:
        """(the visible object's entry, whether something is there at all)."""
        try:
            info = self.head(key)
        except ObjectNotFoundError:
            return None, False
        except ChecksumMismatchError:
            return None, True  # damaged: it can be replaced, never matched
        return Entry(info.etag, info.size, info.metadata), True

    # -- writing -------------------------------------------------------------------------

    def put(
        self,
        key: str,
        body: bytes,
        *,
        entry: Entry,
        if_none_match: str | None,
        if_match: str | None,
    ) -> ObjectInfo:
        path = self.path(key)
        directory = path.rpartition("/")[0]
        primitives = self.primitives
        if primitives is None and (if_none_match is not None or if_match is not None):
            raise NotImplementedError(
                f"{self.where} has no atomic conditional writes (see casman-fsspec's README)"
            )
        with self._guard():
            if directory:
                self._makedirs(directory, key)
            if primitives is None:
                current, _ = self._current(key)
                self._write_meta(path, key, self._entries_for(entry, current))
                self._call("write", key, lambda: self.fs.pipe_file(path, body))
            else:
                self._put_atomic(primitives, key, path, body, entry, if_none_match, if_match)
        return ObjectInfo(key=key, size=len(body), etag=entry.md5, metadata=dict(entry.metadata))

    @staticmethod
    def _entries_for(entry: Entry, current: Entry | None) -> list[Entry]:
        return plainfiles.entries_for(entry, current)

    def _kind(self, path: str, key: str) -> str | None:
        """``directory``, ``file`` or None (absent), from one ``info`` call (no race
        between two questions)."""
        try:
            info = self._call("read", key, lambda: self.fs.info(path))
        except FileNotFoundError:
            return None
        return str(info.get("type"))

    def _makedirs(self, directory: str, key: str) -> None:
        """Create the key's folders one level at a time; a level another writer creates at
        the same moment is fine, a level that is a file is a clash."""
        if self._kind(directory, key) == "directory":
            return
        root = self.root
        relative = directory[len(root) :].strip("/") if root else directory
        level = root
        for part in relative.split("/"):
            level = f"{level}/{part}" if level else part
            self._makedir(level, key)

    def _makedir(self, level: str, key: str) -> None:
        for attempt in range(3):
            kind = self._kind(level, key)
            if kind == "directory":
                return
            if kind is not None:
                raise self._folder_clash(key)  # a file where a folder must be
            try:
                self._call(
                    "create the folder of", key, lambda: self.fs.makedirs(level, exist_ok=True)
                )
                return
            except (FileExistsError, NotADirectoryError, BackendUnavailableError):
                if attempt == 2:
                    raise  # not a concurrent mkdir: something else is wrong

    def _folder_clash(self, key: str) -> InvalidKeyError:
        return InvalidKeyError(
            f"key {key} cannot be a file on {self.where}: a part of its path is already an "
            "object, or the key is a folder of other objects",
            request_sent=False,
        )

    def _temp(self, path: str) -> str:
        directory, _, name = path.rpartition("/")
        return f"{directory}/.{name}@{secrets.token_hex(8)}.tmp"

    def _put_atomic(
        self,
        primitives: Primitives,
        key: str,
        path: str,
        body: bytes,
        entry: Entry,
        if_none_match: str | None,
        if_match: str | None,
    ) -> None:
        temp = self._temp(path)
        try:
            self._call("write", key, lambda: primitives.create_exclusive(self.fs, temp, body))
            with self._write_lock(primitives, key, path):
                if self._call("read", key, lambda: self.fs.isdir(path)):
                    raise self._folder_clash(key)
                current, exists = self._current(key)
                if if_none_match == "*" and exists:
                    raise PreconditionFailedError(
                        f"object {key} already exists; it is never overwritten"
                    )
                if if_match is not None and (current is None or current.md5 != if_match.strip('"')):
                    raise PreconditionFailedError(
                        f"object {key} does not have the expected ETag; not overwritten"
                    )
                self._write_meta(path, key, self._entries_for(entry, current))
                self._call("publish", key, lambda: primitives.replace(self.fs, temp, path))
        finally:
            with suppress(Exception):
                if self.fs.exists(temp):
                    self.fs.rm_file(temp)

    def _write_meta(self, path: str, key: str, entries: Sequence[Entry]) -> None:
        data = encode_meta(entries)
        target = path + META_SUFFIX
        primitives = self.primitives
        if primitives is None:
            self._call("write metadata of", key, lambda: self.fs.pipe_file(target, data))
            return
        temp = self._temp(path)
        try:
            self._call(
                "write metadata of", key, lambda: primitives.create_exclusive(self.fs, temp, data)
            )
            self._call("write metadata of", key, lambda: primitives.replace(self.fs, temp, target))
        finally:
            with suppress(Exception):
                if self.fs.exists(temp):
                    self.fs.rm_file(temp)

    @contextmanager
    def _write_lock(self, primitives: Primitives, key: str, path: str) -> Iterator[None]:
        """Writers of one key take turns: ``<name>@lock`` created exclusively, then removed.

        A lock is never broken automatically (a writer that only seems dead could still
        publish); if one outlives its writer, the message says which file to delete.
        """
        if not primitives.uses_lock_files():
            yield
            return
        lock = path + LOCK_SUFFIX
        holder = json.dumps(
            {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}
        ).encode("ascii")
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                self._call("lock", key, lambda: primitives.create_exclusive(self.fs, lock, holder))
                break
            except FileExistsError:
                if time.monotonic() >= deadline:
                    raise BackendUnavailableError(self._locked_message(key, lock)) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            for _ in range(3):
                try:
                    self.fs.rm_file(lock)
                    break
                except FileNotFoundError:
                    break
                except Exception:
                    time.sleep(0.2)

    def _locked_message(self, key: str, lock: str) -> str:
        since = ""
        with suppress(Exception):
            holder = json.loads(self._cat(lock))
            when = datetime.fromtimestamp(float(holder["since"]), UTC).strftime("%Y-%m-%d %H:%M")
            since = f" by {holder['host']} pid {holder['pid']} since {when} UTC"
        return (
            f"{key} is being written{since} and stayed locked for {LOCK_WAIT_SECONDS:.0f} s; "
            f"if no casman is writing to {self.where}, delete {key}{LOCK_SUFFIX} there"
        )

    def delete(self, key: str) -> None:
        path = self.path(key)
        present = self._call(
            "read", key, lambda: self.fs.exists(path) or self.fs.exists(path + META_SUFFIX)
        )
        if not present:
            return  # S3 semantics: deleting a missing key succeeds
        primitives = self.primitives
        lock = self._write_lock(primitives, key, path) if primitives else nullcontext()
        with self._guard(), lock:
            for target in (path, path + META_SUFFIX):  # the body first
                with suppress(FileNotFoundError):
                    if target == path and self._call("read", key, lambda: self.fs.isdir(path)):
                        continue
                    self._call("delete", key, lambda t=target: self.fs.rm_file(t))  # type: ignore[misc]

    # -- listing -------------------------------------------------------------------------

    def _files(self, prefix: str) -> dict[str, dict[str, Any]]:
        folder = prefix.rpartition("/")[0]
        start = self.path(folder) if folder else self.root
        try:
            found: dict[str, dict[str, Any]] = self._call(
                "list", prefix or "/", lambda: self.fs.find(start, withdirs=False, detail=True)
            )
        except FileNotFoundError:
            return {}
        return found

    def _relative(self, path: str) -> str:
        path = self.fs._strip_protocol(path)
        root = self.root
        return path[len(root) + 1 :] if root and path.startswith(root + "/") else path

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage:
        with self._guard():
            keys = []
            for path in self._files(prefix):
                key = self._relative(path)
                if "@" in key or not key.startswith(prefix) or (token and key <= token):
                    continue
                try:
                    keys.append(validate_key(key))
                except InvalidKeyError:
                    continue
        keys.sort()
        page = keys[: max(max_keys, 1)]
        objects = tuple(info for info in map(self._listed, page) if info is not None)
        return ListPage(objects, page[-1] if len(keys) > len(page) else None)

    def _listed(self, key: str) -> ObjectInfo | None:
        try:
            return self.head(key)
        except ObjectNotFoundError:
            return None
        except ChecksumMismatchError:
            return ObjectInfo(key=key, size=0, etag="")  # listed so that maintain reports it

    # -- tidy ----------------------------------------------------------------------------

    def tidy(self, prefix: str) -> list[str]:
        """Remove metadata without its object and temp files of writers that died."""
        done: list[str] = []
        with self._guard():
            files = self._files(prefix)
        names = {self._relative(path) for path in files}
        now = time.time()
        for path, info in files.items():
            relative = self._relative(path)
            if relative.endswith(META_SUFFIX):
                key = relative[: -len(META_SUFFIX)]
                if key not in names:
                    done.extend(self._remove_orphan_meta(key))
            elif relative.rpartition("/")[2].startswith(".") and relative.endswith(".tmp"):
                modified = self._mtime(info)
                if modified is not None and now - modified.timestamp() > STALE_TEMP_SECONDS:
                    with suppress(FileNotFoundError):
                        self._call("delete", relative, lambda p=path: self.fs.rm_file(p))  # type: ignore[misc]
                    done.append(f"removed a temp file left by a writer that died: {relative}")
        return done

    def _remove_orphan_meta(self, key: str) -> list[str]:
        try:
            path = self.path(key)
        except InvalidKeyError:
            return []
        primitives = self.primitives
        if primitives is None:
            return []  # no lock to keep a writer in flight from losing its metadata
        with self._guard(), self._write_lock(primitives, key, path):
            if self._call("read", key, lambda: self.fs.exists(path)):
                return []  # a writer published it meanwhile
            with suppress(FileNotFoundError):
                self._call("delete", key, lambda: self.fs.rm_file(path + META_SUFFIX))
        return [f"removed metadata without an object: {key}{META_SUFFIX}"]
