"""``--dry-run``: the real code path, with writes recorded instead of sent.

A hand-written plan drifts from what the code sends. Instead the command runs for real,
against a sandbox copy of the database directory and a :class:`DryRunStorage`: every
request passes through the ``casman_storage_op`` hook as usual; reads are sent (the plan
depends on what the store holds: the heads), writes are marked ``dry_run`` so the quota
wrapper stops them before the backend and they are answered from an in-memory overlay, so
later reads in the same run see them. The recorded requests are the plan: what a real run
would send, in order, with their billing class.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from casman.db.schema import DATABASE_NAMES
from casman.storage import quota
from casman.storage.backend import ListPage, ObjectInfo
from casman.storage.errors import ObjectNotFoundError, PreconditionFailedError
from casman.storage.operations import Storage, StorageOp
from casman.sync.session import Session
from casman.sync.site.snapshots import snapshot_bytes

T = TypeVar("T")
_STATE_FILES = (".casman-sync.db",)
_PLAIN_STATE_FILES = (".casman-offsite.json",)


@dataclass(frozen=True)
class PlannedRequest:
    kind: str
    key: str
    billing_class: str | None
    sent: bool  # reads are sent during the dry run; writes never are
    size: int | None = None


@dataclass
class Plan:
    requests: list[PlannedRequest] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for request in self.requests:
            name = f"Class {request.billing_class}" if request.billing_class else "free"
            counts[name] = counts.get(name, 0) + 1
        return counts


class DryRunStorage(Storage):
    """A Storage whose writes are recorded and simulated, never sent."""

    dry_run = True

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage.handle, storage._hook, storage.purpose, storage.attempts)
        self.plan = Plan()
        self._written: dict[str, tuple[bytes, ObjectInfo]] = {}
        self._deleted: set[str] = set()

    def _record(self, op: StorageOp, sent: bool, size: int | None = None) -> None:
        billing = quota.billing_class(self.handle, op.kind)
        self.plan.requests.append(PlannedRequest(op.kind, op.key, billing, sent, size))

    def _call(self, op: StorageOp) -> object:
        if op.kind in ("put", "delete"):
            op.dry_run = True
            super()._call(op)  # through the hook: traced, stopped before the backend
            self._record(op, sent=False, size=len(op.body) if op.body is not None else None)
            return self._simulate(op)
        if op.kind in ("get", "head") and (op.key in self._written or op.key in self._deleted):
            self._record(op, sent=False)
            if op.key in self._deleted:
                raise ObjectNotFoundError(f"object {op.key} not found")
            body, info = self._written[op.key]
            return (body, info) if op.kind == "get" else info
        self._record(op, sent=True)
        result = super()._call(op)
        if op.kind == "list" and isinstance(result, ListPage):
            return self._overlay(op.key, result)
        return result

    def _current_etag(self, key: str) -> str | None:
        if key in self._written:
            return self._written[key][1].etag
        if key in self._deleted:
            return None
        try:
            info = super()._call(StorageOp("head", key, purpose=self.purpose))
        except ObjectNotFoundError:
            return None
        return info.etag if isinstance(info, ObjectInfo) else None

    def _simulate(self, op: StorageOp) -> object:
        if op.kind == "delete":
            self._written.pop(op.key, None)
            self._deleted.add(op.key)
            return True
        assert op.body is not None
        if op.if_none_match == "*" and op.key in self._written:
            raise PreconditionFailedError(f"object {op.key} already exists")
        if op.if_match is not None and op.if_match != self._current_etag(op.key):
            raise PreconditionFailedError(f"object {op.key} changed")
        info = ObjectInfo(
            key=op.key,
            size=len(op.body),
            etag=hashlib.md5(op.body).hexdigest(),
            metadata=dict(op.metadata),
        )
        self._written[op.key] = (op.body, info)
        self._deleted.discard(op.key)
        return info

    def _overlay(self, prefix: str, page: ListPage) -> ListPage:
        objects = [o for o in page.objects if o.key not in self._deleted]
        if page.next_token is None:
            known = {o.key for o in objects}
            objects += [
                info
                for key, (_, info) in sorted(self._written.items())
                if key.startswith(prefix) and key not in known
            ]
        return ListPage(tuple(objects), page.next_token)


@contextmanager
def sandbox(context: Session) -> Iterator[tuple[Session, DryRunStorage]]:
    """A context over a temporary copy of the database directory and a DryRunStorage.

    Nothing local changes (restores and merges install into the copy); the quota tracker
    of the real directory still counts the reads, which are really sent.
    """
    real = context.database_dir
    with tempfile.TemporaryDirectory(prefix="casman-dry-run-") as folder:
        copy = Path(folder)
        for name in (*DATABASE_NAMES, *_STATE_FILES):
            if (real / name).exists():
                (copy / name).write_bytes(snapshot_bytes(real / name))
        for name in _PLAIN_STATE_FILES:
            if (real / name).is_file():
                shutil.copy2(real / name, copy / name)
        storage = DryRunStorage(context.storage)
        config = dataclasses.replace(context.config, database_dir=copy)
        yield Session(config, storage, context.clock), storage


def dry_run(context: Session, action: Callable[[Session], T]) -> tuple[T, Plan]:
    """Run ``action`` in a sandbox; return its result and the requests it would send."""
    with sandbox(context) as (copy, storage):
        result = action(copy)
        return result, storage.plan
