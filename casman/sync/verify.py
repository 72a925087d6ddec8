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
from dataclasses import dataclass, field

from casman.errors import CasmanError
from casman.storage.backend import ObjectInfo
from casman.storage.errors import ObjectNotFoundError, ObjectTooLargeError
from casman.sync.catalog import (
    META_FINGERPRINT,
    META_SHA256,
    BackupEntry,
    metadata_problems,
)
from casman.sync.context import SyncContext
from casman.sync.state import SyncedVersion

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

    def version(self) -> SyncedVersion:
        """The stored version this backup is (for comparisons with the sync state)."""
        assert self.info is not None
        meta = self.info.metadata
        return SyncedVersion(
            sha256=meta.get(META_SHA256, ""),
            key=self.entry.name,
            synced_at="",
            operation="",
            fingerprint=meta.get(META_FINGERPRINT) or None,
        )


@dataclass
class VerifiedListing:
    """Verdicts of the entries looked at, newest first."""

    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def good(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if verdict.ok]

    @property
    def bad(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if not verdict.ok]


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


def newest_verified(context: SyncContext, entries: list[BackupEntry]) -> Verdict | None:
    """The newest backup that verifies (entries are newest first); junk is skipped."""
    for entry in entries:
        known = context.state.get(context.backend, entry.key.db_name)
        if known is not None and known.key == entry.name and known.sha256:
            # verified when it was synced: its metadata is in the state, no request needed
            meta = {META_SHA256: known.sha256}
            if known.fingerprint:
                meta[META_FINGERPRINT] = known.fingerprint
            return Verdict(entry, ObjectInfo(entry.name, entry.info.size, "", metadata=meta))
        verdict = verify(context, entry)
        if verdict.ok:
            return verdict
    return None
