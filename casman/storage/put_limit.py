"""Built-in plugin: a put larger than the backend's ``max_single_put_bytes`` is refused.

The backend declares the limit; the host enforces it, so no backend has to and none is
ever sent a body it said it cannot take.
"""

from __future__ import annotations

from collections.abc import Generator

from casman.hookspecs import hookimpl
from casman.storage.errors import ObjectTooLargeError
from casman.storage.operations import BackendHandle, StorageOp, StorageResult


class PutLimitPlugin:
    """The outermost wrapper (``tryfirst``), so the refusal comes before the quota reserves
    anything, before the trace and before the backend: nothing is counted or sent, and
    the error says so (``request_sent=False``). The limit is the one the handle's spec
    declares, which ``open_storage`` took from the instance when it declares its own.
    """

    @hookimpl(wrapper=True, tryfirst=True)
    def casman_storage_op(
        self, backend: BackendHandle, op: StorageOp
    ) -> Generator[None, StorageResult, StorageResult]:
        if op.kind == "put" and op.body is not None:
            limit = backend.spec.capabilities.max_single_put_bytes
            if len(op.body) > limit:
                raise ObjectTooLargeError(
                    f"{op.key} is {len(op.body):,} bytes, more than the {limit:,} backend "
                    f"{backend.name} accepts in one upload; nothing was sent",
                    request_sent=False,
                )
        return (yield)
