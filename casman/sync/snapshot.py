"""Consistent snapshots of a live database with SQLite's online backup API.

Copying the file itself could catch a half-applied transaction or miss what still sits in
the WAL; the backup API copies a consistent state while other processes keep writing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from casman.db.fingerprint import content_fingerprint
from casman.db.schema_check import count_records
from casman.errors import CasmanError
from casman.fileio import fsync_file

HASH_CHUNK = 1024 * 1024


class SnapshotError(CasmanError):
    """A database that cannot be snapshotted or does not pass the checks."""


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy: ``sha256`` identifies its bytes, ``fingerprint`` its rows."""

    path: Path | None
    sha256: str
    size: int
    records: int
    fingerprint: str
    content_md5: str = ""
    body: bytes | None = None


ROLLBACK_JOURNAL = 1
"""File format bytes 18–19: 1 = rollback journal, 2 = WAL (SQLite's file format §1.3.3)."""


def without_wal_flag(body: bytes) -> bytes:
    """The snapshot marked as a rollback-journal file, as ``journal_mode=DELETE`` would.

    A copy of a WAL database keeps the WAL flag, and SQLite then needs to create ``-wal``
    and ``-shm`` files to open it, which fails on read-only media (a backup on a NAS or a
    write-protected stick). The copy has no WAL content, so clearing the flag is exact.
    """
    if len(body) < 20 or body[18:20] == bytes([ROLLBACK_JOURNAL, ROLLBACK_JOURNAL]):
        return body
    patched = bytearray(body)
    patched[18] = patched[19] = ROLLBACK_JOURNAL
    return bytes(patched)


def digests(body: bytes) -> tuple[str, str]:
    """SHA-256 (hex) and Content-MD5 (base64) of ``body``, computed side by side.

    hashlib releases the GIL on large buffers, so on two cores the MD5 the upload needs
    costs no extra wall time over the SHA-256 the metadata needs.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        md5 = pool.submit(lambda: base64.b64encode(hashlib.md5(body).digest()).decode("ascii"))
        sha = hashlib.sha256(body).hexdigest()
        return sha, md5.result()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def take_snapshot(source: Path, destination: Path) -> Snapshot:
    """Copy ``source`` consistently into ``destination`` (a fresh file, fsynced)."""
    if not source.is_file():
        raise SnapshotError(f"{source} does not exist; nothing to back up")
    try:
        reader = _read_only(source)
        try:
            writer = sqlite3.connect(destination)
            try:
                reader.backup(writer)
                records = count_records(writer, source.name)
                fingerprint = content_fingerprint(writer, source.name)
                writer.execute("PRAGMA journal_mode = DELETE")
            finally:
                writer.close()
        finally:
            reader.close()
    except sqlite3.DatabaseError as error:
        raise SnapshotError(f"cannot read {source}: {error}") from None
    fsync_file(destination)
    size = destination.stat().st_size
    return Snapshot(destination, sha256_of(destination), size, records, fingerprint)


def snapshot_in_memory(source: Path) -> Snapshot:
    """A consistent snapshot as bytes, with its SHA-256, Content-MD5 and record count.

    The backup API copies into an in-memory database whose serialisation is byte for byte
    what a file copy would hold, without writing and re-reading a temp file.
    """
    if not source.is_file():
        raise SnapshotError(f"{source} does not exist; nothing to back up")
    try:
        reader = _read_only(source)
        try:
            memory = sqlite3.connect(":memory:")
            try:
                reader.backup(memory)
                records = count_records(memory, source.name)
                fingerprint = content_fingerprint(memory, source.name)
                body = without_wal_flag(memory.serialize())
            finally:
                memory.close()
        finally:
            reader.close()
    except sqlite3.DatabaseError as error:
        raise SnapshotError(f"cannot read {source}: {error}") from None
    sha256, md5 = digests(body)
    return Snapshot(None, sha256, len(body), records, fingerprint, md5, body)


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
