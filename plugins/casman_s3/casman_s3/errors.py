"""botocore failures → casman's storage errors, each one line saying what to fix.

The messages name environment variables, the bucket and the endpoint, never a credential
value: the secret key is never sent over the wire, so it cannot appear in a server's
answer, and nothing here formats the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from casman.storage import (
    BackendConfigError,
    BackendUnavailableError,
    ChecksumMismatchError,
    ObjectNotFoundError,
    PreconditionFailedError,
    StorageError,
)

ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
        "Unauthorized",
    }
)
CHECKSUM_CODES = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})
PRECONDITION_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
BUSY_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"})


@dataclass(frozen=True)
class Hints:
    """What a user sets for this backend, so an error can say exactly what to check.

    casman-r2 passes its own (``R2_*``) names; the client code is shared.
    """

    service: str = "S3"
    bucket: str = "CASMAN_S3_BUCKET"
    endpoint: str = "CASMAN_S3_ENDPOINT"
    access_key: str = "AWS_ACCESS_KEY_ID"
    secret_key: str = "AWS_SECRET_ACCESS_KEY"


def mark(error: StorageError, *, sent: bool) -> StorageError:
    """Tell the quota wrapper whether the request reached the server (and was billed)."""
    error.request_sent = sent  # type: ignore[attr-defined]
    return error


@dataclass(frozen=True)
class Context:
    """Where a failed call was going; enough for a message, nothing secret."""

    action: str
    key: str
    bucket: str
    endpoint: str
    hints: Hints


def _from_response(error: Any, ctx: Context) -> StorageError:
    info = error.response.get("Error", {}) or {}
    code = str(info.get("Code", ""))
    message = str(info.get("Message", "")).strip()
    status = int((error.response.get("ResponseMetadata", {}) or {}).get("HTTPStatusCode", 0))
    hints = ctx.hints
    where = f"{hints.service} bucket {ctx.bucket}"
    if code == "NoSuchBucket":
        return BackendConfigError(f"bucket {ctx.bucket} does not exist; check {hints.bucket}")
    if code in ACCESS_CODES or status == 403:
        return BackendUnavailableError(
            f"access denied to {where} ({code or status}) at {ctx.endpoint}; "
            f"check {hints.access_key} / {hints.secret_key}"
        )
    if code in PRECONDITION_CODES or status == 412:
        return PreconditionFailedError(
            f"{ctx.key} was not written: its condition (if-none-match / if-match) did not hold"
        )
    if code in CHECKSUM_CODES:
        return ChecksumMismatchError(
            f"{hints.service} refused {ctx.key}: the body does not match its checksum ({code}); "
            "nothing was stored"
        )
    if code in NOT_FOUND_CODES or (status == 404 and ctx.action in ("get", "head")):
        return ObjectNotFoundError(f"{ctx.key} not found in {where}")
    if code in BUSY_CODES or status >= 500:
        return BackendUnavailableError(
            f"{hints.service} at {ctx.endpoint} is unavailable ({code or status}); try again later"
        )
    detail = f"{code}: {message}" if message else (code or f"HTTP {status}")
    return StorageError(f"{hints.service} {ctx.action} of {ctx.key or '/'} failed: {detail}")


def map_error(error: Exception, ctx: Context) -> StorageError:
    """The StorageError for a botocore exception, marked with whether it was sent."""
    from botocore import exceptions as bx

    hints = ctx.hints
    if isinstance(error, bx.ClientError):
        return mark(_from_response(error, ctx), sent=True)
    if isinstance(error, bx.NoCredentialsError | bx.PartialCredentialsError):
        return mark(
            BackendConfigError(
                f"no credentials for {hints.service} bucket {ctx.bucket}; "
                f"set {hints.access_key} and {hints.secret_key}"
            ),
            sent=False,
        )
    if isinstance(error, bx.EndpointConnectionError | bx.ConnectTimeoutError):
        return mark(
            BackendUnavailableError(
                f"cannot reach {hints.service} endpoint {ctx.endpoint}; "
                f"check {hints.endpoint} and the network"
            ),
            sent=False,
        )
    if isinstance(error, bx.ReadTimeoutError | bx.ConnectionClosedError):
        return mark(
            BackendUnavailableError(
                f"{hints.service} endpoint {ctx.endpoint} did not answer in time; try again later"
            ),
            sent=True,
        )
    if isinstance(error, bx.ParamValidationError):
        return mark(
            StorageError(f"{hints.service} {ctx.action} of {ctx.key} was refused locally"),
            sent=False,
        )
    return mark(
        StorageError(
            f"{hints.service} {ctx.action} of {ctx.key or '/'} failed at {ctx.endpoint}: "
            f"{type(error).__name__}"
        ),
        sent=True,
    )
