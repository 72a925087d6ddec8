"""Writing files so that a crash leaves either the old file or the new one, never half.

Every file casman replaces (databases on restore, sync state, quota tracker, generated
CSVs) goes through here: temp file in the same directory, fsync, atomic rename, fsync of
the directory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from casman.errors import CasmanError


def fsync_directory(directory: Path) -> None:
    """Make a rename durable (no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_path_beside(target: Path, suffix: str = ".tmp") -> Path:
    """A fresh, empty temp file next to ``target`` (same filesystem, so rename is atomic)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    return Path(name)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_beside(target)
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_directory(target.parent)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def write_file(path: Path, data: bytes) -> None:
    """Write a fresh file; a full disk or read-only media is one clear CasmanError."""
    try:
        with open(path, "wb") as handle:
            handle.write(data)
    except OSError as error:
        with contextlib.suppress(OSError):
            path.unlink()
        raise CasmanError(
            f"cannot write {path}: {error.strerror or error}; free some space or check "
            "that the folder is writable"
        ) from None


@contextlib.contextmanager
def held_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (a temp file) for as long as it is in use."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: orphans are left for the user
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove_orphan_temp_files(directory: Path, target_name: str, suffix: str) -> list[Path]:
    """Remove ``temp_path_beside`` files of ``target_name`` that no live process holds."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        return []
    removed = []
    for path in directory.glob(f".{target_name}.*{suffix}"):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # in use by a running casman
        try:
            for extra in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    path.with_name(path.name + extra).unlink()
            removed.append(path)
        finally:
            os.close(fd)
    return removed
