"""Consistent snapshots of a live database with SQLite's online backup API.

Copying the file itself could catch a half-applied transaction or miss what still sits in
the WAL; the backup API copies a consistent state while other processes keep writing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import sqlite3
import tempfile
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


def _copy(source: Path, destination: Path, fingerprint: bool = True) -> tuple[int, str]:
    """The backup API from ``source`` into a new file; its record count and fingerprint.

    The copy is marked as a rollback-journal file (``journal_mode = DELETE``), so it opens
    with ``sqlite3`` on read-only media too.
    """
    if not source.is_file():
        raise SnapshotError(f"{source} does not exist; nothing to back up")
    try:
        reader = _read_only(source)
        try:
            writer = sqlite3.connect(destination)
            try:
                reader.backup(writer)
                writer.execute("PRAGMA journal_mode = DELETE")
                records = count_records(writer, source.name)
                if not fingerprint:
                    return records, ""
                return records, content_fingerprint(writer, source.name)
            finally:
                writer.close()
        finally:
            reader.close()
    except sqlite3.DatabaseError as error:
        raise SnapshotError(f"cannot read {source}: {error}") from None


def take_snapshot(source: Path, destination: Path, *, fingerprint: bool = True) -> Snapshot:
    """Copy ``source`` consistently into ``destination`` (a fresh file, fsynced).

    Without ``fingerprint`` the snapshot's ``fingerprint`` is "" (computed later from the
    file if ever needed: it reads every row).
    """
    records, content = _copy(source, destination, fingerprint)
    fsync_file(destination)
    size = destination.stat().st_size
    return Snapshot(destination, sha256_of(destination), size, records, content)


def snapshot_in_memory(source: Path) -> Snapshot:
    """A consistent snapshot as bytes, with its SHA-256, Content-MD5 and record count.

    The backup API writes the copy to a temporary file (not fsynced: it is read back at
    once and deleted) rather than to an in-memory database: serialising an in-memory
    database holds the pages twice, and the bytes once more, so the peak was about four
    times the database; this way the bytes that are uploaded are the only full copy.
    """
    folder = source.parent if os.access(source.parent, os.W_OK) else None
    handle, name = tempfile.mkstemp(prefix=f".{source.name}.", suffix=".snapshot", dir=folder)
    os.close(handle)
    temp = Path(name)
    try:
        temp.unlink()
        records, fingerprint = _copy(source, temp)
        body = temp.read_bytes()
    finally:
        remove_quietly(temp)
        for suffix in ("-journal", "-wal", "-shm"):
            remove_quietly(temp.with_name(temp.name + suffix))
    sha256, md5 = digests(body)
    return Snapshot(None, sha256, len(body), records, fingerprint, md5, body)


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
