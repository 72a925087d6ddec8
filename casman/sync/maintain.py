"""``casman sync maintain``: verify what the store's head names; report what is wrong.

Every segment of every site's chain and every checkpoint is checked: by a HEAD request
(exists, size), or with ``deep`` by downloading it and checking its SHA-256 (and each
record's id) — the only way to catch a same-size corruption before someone needs it.
A damaged or missing object is reported, never deleted; a backend's own bookkeeping is
tidied first where it has a ``tidy`` method.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from casman.storage.backend import STANDARD_STORAGE_CLASS, Tidy
from casman.storage.errors import (
    ChecksumMismatchError,
    ObjectNotFoundError,
    ObjectTooLargeError,
)
from casman.sync.errors import DamagedObjectError, SyncError
from casman.sync.session import Session
from casman.sync.store import segments
from casman.sync.store.head import read_head

MAX_CHAIN = 1_000_000


@dataclass
class MaintainReport:
    verified: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    not_standard: dict[str, str] = field(default_factory=dict)
    tidied: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    level: str = "exists"


def _note(report: MaintainReport, key: str, problem: str) -> None:
    report.problems.setdefault(key, []).append(problem)


def maintain(session: Session, *, deep: bool = False) -> MaintainReport:
    report = MaintainReport(level="SHA-256 of every body" if deep else "exists (HEAD)")
    impl = session.storage.handle.impl
    if isinstance(impl, Tidy) and not session.storage.dry_run:
        report.tidied = impl.tidy("")
    head = read_head(session.storage)
    if head is None:
        raise SyncError("the store has no head; nothing to verify (run `casman sync sync`)")
    segment_bytes = 0
    for site, tip in sorted(head.sites.items()):
        key: str | None = tip.key
        for _ in range(MAX_CHAIN):
            if key is None:
                break
            try:
                if deep:
                    body, info = session.storage.get(key, max_bytes=segments.MAX_SEGMENT_BYTES)
                    segment = segments.decode(key, body)
                    segment_bytes += len(body)
                    following = segment.previous
                else:
                    info = session.storage.head(key)
                    segment_bytes += info.size
                    following = None  # the chain is only known from the bodies
            except ObjectNotFoundError:
                _note(report, key, f"missing (segment of site {site})")
                break
            except (DamagedObjectError, ChecksumMismatchError, ObjectTooLargeError) as error:
                _note(report, key, str(error))
                break
            report.verified.append(key)
            if info.storage_class != STANDARD_STORAGE_CLASS:
                report.not_standard[key] = info.storage_class
            key = following
    report.sizes["segments"] = segment_bytes
    checkpoint_bytes = 0
    for checkpoint in head.checkpoints:
        for db_name, key in checkpoint.keys.items():
            try:
                if deep:
                    body, info = session.storage.get(key)
                    if hashlib.sha256(body).hexdigest() != checkpoint.sha256.get(db_name):
                        _note(report, key, "does not match its SHA-256 (damaged)")
                        continue
                else:
                    info = session.storage.head(key)
                    if info.size != checkpoint.sizes.get(db_name):
                        _note(
                            report,
                            key,
                            f"size {info.size}, the head says "
                            f"{checkpoint.sizes.get(db_name)} (damaged)",
                        )
                        continue
            except ObjectNotFoundError:
                _note(report, key, "missing (checkpoint)")
                continue
            except ChecksumMismatchError as error:  # the backend's own check failed
                _note(report, key, str(error))
                continue
            checkpoint_bytes += info.size
            report.verified.append(key)
            if info.storage_class != STANDARD_STORAGE_CLASS:
                report.not_standard[key] = info.storage_class
    report.sizes["checkpoints"] = checkpoint_bytes
    return report
