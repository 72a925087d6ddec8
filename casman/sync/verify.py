"""Which stored objects are backups casman can trust.

A key that parses as a backup key proves nothing: anyone with write access to the store can
put junk under ``backups/parts.db/20990101_000000_parts.db``. A *verified* backup has
metadata naming its database and a SHA-256, and its size matches that metadata; with
``deep`` its body's SHA-256 is checked as well. Retention, "newest" and maintain count only
verified backups, so junk can never push a good backup out or be restored by ``sync``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from casman.errors import CasmanError
from casman.storage.backend import ObjectInfo
from casman.storage.errors import ObjectNotFoundError, ObjectTooLargeError
from casman.sync.catalog import (
    META_SHA256,
    BackupEntry,
    metadata_problems,
)
from casman.sync.context import SyncContext

MAX_BACKUP_BYTES = 1024**3
"""Largest backup casman downloads (the databases are a few MB at full build-out, tens of MB
at 100×); checked against the announced size before the body is read."""


@dataclass(frozen=True)
class Verdict:
    entry: BackupEntry
    info: ObjectInfo | None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(context: SyncContext, entry: BackupEntry, *, deep: bool = False) -> Verdict:
    """One HEAD (or one GET with ``deep``) and the checks of the module docstring."""
    try:
        if deep:
            body, info = context.storage.get(entry.name, max_bytes=MAX_BACKUP_BYTES)
        else:
            info = context.storage.head(entry.name)
    except ObjectNotFoundError:
        return Verdict(entry, None, ("listed but missing",))
    except ObjectTooLargeError:
        return Verdict(entry, None, (f"larger than {MAX_BACKUP_BYTES:,} bytes",))
    except CasmanError as error:
        if not deep:
            raise
        return Verdict(entry, None, (f"cannot be read: {error}",))
    problems = metadata_problems(entry.key, info)
    if entry.info.size != info.size:
        problems.append(f"listed size {entry.info.size} ≠ stored size {info.size}")
    if deep and not problems and hashlib.sha256(body).hexdigest() != info.metadata[META_SHA256]:
        problems.append("its content does not match its SHA-256 (corrupt)")
    return Verdict(entry, info, tuple(problems))


def verdicts(
    context: SyncContext, entries: Iterable[BackupEntry], *, deep: bool = False
) -> Iterator[Verdict]:
    """Verify entries lazily, in the order given (stop iterating to stop sending)."""
    for entry in entries:
        yield verify(context, entry, deep=deep)
