"""botocore failures → casman's storage errors, each one line saying what to fix.

The messages name environment variables, the bucket and the endpoint, never a credential
value: the secret key is never sent over the wire, so it cannot appear in a server's
answer; the endpoint in a :class:`Context` is the masked one (``https://****@host``); and
nothing here formats the settings.

Each error says whether the request reached a server (``request_sent``), because R2 bills
every request that arrives, whatever the answer: a connection refused, a connect timeout,
a name that does not resolve or a failed TLS handshake were never seen by the server; a read
timeout, a dropped connection after sending or any HTTP answer (404, 412, 500…) were.
"""

from __future__ import annotations

import socket
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
from casman_s3.settings import Network

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
METADATA_CODES = frozenset({"MetadataTooLarge"})


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
    connect_timeout: str = "CASMAN_S3_CONNECT_TIMEOUT"
    read_timeout: str = "CASMAN_S3_READ_TIMEOUT"


def mark(error: StorageError, *, sent: bool) -> StorageError:
    """Tell the quota wrapper whether the request reached the server (and was billed)."""
    error.request_sent = sent
    return error


def reached_server(error: BaseException | None) -> bool:
    """Whether a failed attempt got as far as the server (and so was billed).

    botocore raises its ``ConnectionError`` family (refused, name not resolved, connect
    timeout, proxy, TLS handshake) before a byte of the request is sent, and its
    ``HTTPClientError`` family (read timeout, connection closed while waiting, anything
    else urllib3 raised while sending) once the request may have arrived: those count, so
    the quota errs on the side of the bill.
    """
    from botocore import exceptions as bx

    return isinstance(error, bx.HTTPClientError)


@dataclass(frozen=True)
class Context:
    """Where a failed call was going; enough for a message, nothing secret."""

    action: str
    key: str
    bucket: str
    endpoint: str
    hints: Hints
    network: Network | None = None


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
    if code in METADATA_CODES:
        return StorageError(
            f"{hints.service} refused the metadata of {ctx.key}: it is too large once encoded "
            "(S3 allows 2 KB in all); shorten the values"
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


def _cause(error: BaseException) -> BaseException | None:
    """The innermost error a botocore connection error wraps (urllib3's, then the OS's)."""
    seen: set[int] = set()
    current: BaseException | None = error
    inner = getattr(error, "kwargs", {}).get("error")
    if isinstance(inner, BaseException):
        current = inner
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError | socket.gaierror):
            return current
        if type(current).__name__ == "NameResolutionError":  # urllib3 2.x
            return current
        current = current.__cause__ or current.__context__
    return None


def _unreachable(error: Exception, ctx: Context) -> StorageError:
    """Why nothing reached the server, with what to check; never marked as sent."""
    from botocore import exceptions as bx

    hints = ctx.hints
    network = ctx.network or Network()
    where = f"{hints.service} endpoint {ctx.endpoint}"
    if isinstance(error, bx.ConnectTimeoutError):
        reason = (
            f"no connection within {network.connect_timeout:g} s; check {hints.endpoint} and "
            f"the network, or raise {hints.connect_timeout}"
        )
    elif isinstance(error, bx.SSLError):
        reason = (
            f"the TLS handshake failed; check {hints.endpoint} (http:// or https://) and the "
            "server's certificate"
        )
    elif isinstance(error, bx.ProxyConnectionError):
        reason = "the proxy could not be reached; check HTTPS_PROXY / HTTP_PROXY"
    else:
        cause = _cause(error)
        if isinstance(cause, ConnectionRefusedError):
            detail = "connection refused"
        elif cause is not None:
            detail = "host name not found"
        else:
            detail = "no connection"
        reason = f"{detail}; check {hints.endpoint} and the network"
    return BackendUnavailableError(f"cannot reach {where}: {reason}", request_sent=False)


def map_error(error: Exception, ctx: Context) -> StorageError:
    """The StorageError for a botocore exception, marked with whether it was sent.

    ``request_sent`` is judged from this (the last) exception only; the backend also marks
    it sent when an earlier attempt of the same call reached the server.
    """
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
    if isinstance(error, bx.ConnectionError):
        return _unreachable(error, ctx)
    if isinstance(error, bx.ReadTimeoutError):
        network = ctx.network or Network()
        attempts = "" if network.max_attempts == 1 else f" ({network.max_attempts} attempts)"
        return mark(
            BackendUnavailableError(
                f"{hints.service} endpoint {ctx.endpoint} did not answer within "
                f"{network.read_timeout:g} s{attempts}; try again later or raise "
                f"{hints.read_timeout}"
            ),
            sent=True,
        )
    if isinstance(error, bx.HTTPClientError):
        return mark(
            BackendUnavailableError(
                f"the connection to {hints.service} endpoint {ctx.endpoint} broke "
                f"({type(error).__name__}); try again later"
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
