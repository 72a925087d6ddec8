"""The S3 client backend shared by ``s3`` and ``r2``.

One ``put_object`` per upload (no multipart: casman's databases are a few MB, and a single
request keeps Content-MD5 and conditional writes end to end). boto3 is imported in the
constructor so that listing plugins never pays for it.

Every request is bounded by :class:`~casman_s3.settings.Network` (connect and read timeouts,
total attempts), metadata values are encoded by :mod:`casman_s3.metadata` so any text
survives, and an endpoint's ``user:password@`` is dropped before botocore sees it and
masked wherever the endpoint is shown.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from casman.storage import (
    BackendConfigError,
    ChecksumMismatchError,
    ListPage,
    ObjectInfo,
    ObjectTooLargeError,
    StorageError,
)
from casman_s3.errors import Context, Hints, map_error, mark, reached_server
from casman_s3.metadata import decode_metadata, encode_metadata
from casman_s3.settings import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_READ_TIMEOUT,
    Network,
    check_endpoint,
    mask_url,
    without_userinfo,
)

T = TypeVar("T")

DEFAULT_REGION = "us-east-1"
MAX_SINGLE_PUT_BYTES = 5 * 1024**3
"""S3's limit for one PUT request."""
READ_CHUNK = 1024 * 1024
"""A GET body is read in pieces of this size, so a lying Content-Length cannot overfill."""


_session_lock = threading.Lock()
_session: Any = None


def _new_client(**kwargs: Any) -> Any:
    """An S3 client from one shared boto3 session.

    A session caches the parsed service model, which makes each further client cheap; a
    session is not thread-safe, so clients are created under a lock (clients are).
    """
    global _session
    import boto3

    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client("s3", **kwargs)


def _unquote(etag: str) -> str:
    """ETags without their quotes, so every backend's ETags compare alike."""
    return etag.strip('"')


def _quote(etag: str) -> str:
    return etag if etag.startswith('"') or etag == "*" else f'"{etag}"'


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode("ascii")


class _Attempts(threading.local):
    """Per thread: whether any attempt of the call in progress reached the server.

    botocore retries inside one client call; only the last attempt's exception comes out.
    A call whose first attempt was answered 500 and whose retry found the port closed was
    still billed, so the backend records every attempt (``needs-retry`` is emitted after
    each one, the last included) and marks the final error sent if any attempt was.
    """

    reached: bool = False


def _read_body(stream: Any, key: str, limit: int | None) -> bytes:
    """The whole body, or ObjectTooLargeError once more than ``limit`` bytes arrive.

    Content-Length was checked before; this guards against a server that sends more than
    it announced (or announces nothing), without ever holding more than the limit.
    """
    if limit is None:
        return bytes(stream.read())
    pieces: list[bytes] = []
    received = 0
    while True:
        piece = stream.read(min(READ_CHUNK, limit + 1 - received))
        if not piece:
            return b"".join(pieces)
        pieces.append(piece)
        received += len(piece)
        if received > limit:
            stream.close()
            raise ObjectTooLargeError(
                f"{key} is larger than the {limit:,} bytes allowed; its download was stopped"
            )


class S3Backend:
    """A bucket on AWS S3 or any S3-compatible endpoint (R2, MinIO, moto).

    Credentials left as None fall back to boto3's default chain (environment, profile,
    instance role). They are handed to boto3 and never kept on this object, so no repr or
    error can show them; nor is an endpoint's ``user:password@``, which botocore would
    ignore anyway (``endpoint`` is the masked form, for messages).

    ``connect_timeout`` and ``read_timeout`` are seconds; ``max_attempts`` counts every
    attempt, the first included (botocore's ``total_max_attempts``), so 1 means no retry.
    """

    def __init__(
        self,
        bucket: str,
        *,
        region: str = DEFAULT_REGION,
        endpoint: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        hints: Hints | None = None,
        max_single_put_bytes: int = MAX_SINGLE_PUT_BYTES,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        from botocore.config import Config

        self.bucket = bucket
        self.hints = hints or Hints()
        self.max_single_put_bytes = max_single_put_bytes
        self.network = Network(connect_timeout, read_timeout, max_attempts)
        shown: str | None = None
        if endpoint is not None:
            endpoint = check_endpoint(endpoint, self.hints.endpoint, "https://s3.example.org:9000")
            shown = mask_url(endpoint)
            endpoint = without_userinfo(endpoint)
        config = Config(
            region_name=region,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # total_max_attempts counts the first attempt; botocore's max_attempts does not.
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            # Flexible checksums are not understood by every S3-compatible store (R2
            # rejects some); Content-MD5 is sent explicitly on every put instead.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        credentials: dict[str, str] = {}
        if access_key_id is not None or secret_access_key is not None:
            credentials = {
                "aws_access_key_id": access_key_id or "",
                "aws_secret_access_key": secret_access_key or "",
            }
            if session_token:
                credentials["aws_session_token"] = session_token
        try:
            self._client: Any = _new_client(endpoint_url=endpoint, config=config, **credentials)
        except ValueError:  # botocore's "Invalid endpoint", for a URL check_endpoint let by
            raise BackendConfigError(
                f"{self.hints.endpoint} is not an endpoint botocore accepts: set it to an "
                "http:// or https:// URL with a host, e.g. https://s3.example.org:9000"
            ) from None
        self.endpoint: str = shown or str(self._client.meta.endpoint_url)
        """The endpoint as messages and the repr show it, any ``user:password@`` masked."""
        self._attempts = _Attempts()
        self._client.meta.events.register("needs-retry.s3", self._on_attempt)

    def __repr__(self) -> str:
        return f"S3Backend(bucket={self.bucket!r}, endpoint={self.endpoint!r})"

    def _on_attempt(
        self, response: Any = None, caught_exception: BaseException | None = None, **_: Any
    ) -> None:
        """botocore's ``needs-retry`` hook: note an attempt that reached the server.

        Returns None so botocore's own retry handler alone decides whether to retry.
        """
        if response is not None or reached_server(caught_exception):
            self._attempts.reached = True

    def _call(self, action: str, key: str, call: Callable[[], T]) -> T:
        self._attempts.reached = False
        try:
            return call()
        except StorageError:
            raise
        except Exception as error:
            from botocore.exceptions import BotoCoreError, ClientError

            if not isinstance(error, BotoCoreError | ClientError):
                raise
            ctx = Context(action, key, self.bucket, self.endpoint, self.hints, self.network)
            mapped = map_error(error, ctx)
            if self._attempts.reached:
                mapped.request_sent = True
            raise mapped from error

    def put(
        self,
        key: str,
        body: bytes,
        *,
        metadata: Mapping[str, str],
        content_md5: str,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> ObjectInfo:
        """One PutObject with Content-MD5, so the server refuses a corrupted upload."""
        if len(body) > self.max_single_put_bytes:
            raise mark(
                StorageError(
                    f"{key} is {len(body):,} bytes; {self.hints.service} takes at most "
                    f"{self.max_single_put_bytes:,} bytes in one upload"
                ),
                sent=False,
            )
        if _md5(body) != content_md5:
            # Caught before sending as well, for stores (and test servers) that ignore it.
            raise mark(
                ChecksumMismatchError(
                    f"{key}: the body does not match its Content-MD5; nothing was sent"
                ),
                sent=False,
            )
        meta = {str(k).lower(): str(v) for k, v in metadata.items()}
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentMD5": content_md5,
            "Metadata": encode_metadata(meta, key),
        }
        if if_none_match is not None:
            kwargs["IfNoneMatch"] = if_none_match
        if if_match is not None:
            kwargs["IfMatch"] = _quote(if_match)
        response = self._call("put", key, lambda: self._client.put_object(**kwargs))
        return ObjectInfo(key=key, size=len(body), etag=_unquote(response["ETag"]), metadata=meta)

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        """The body and info; an object over ``max_bytes`` is refused from its Content-Length.

        The response stream is closed unread in that case (urllib3 then drops the
        connection rather than draining it), so a 3 GB object costs one GET's headers.
        """

        def fetch() -> tuple[bytes, dict[str, Any]]:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            stream = response["Body"]
            announced = response.get("ContentLength")
            if max_bytes is not None and announced is not None and announced > max_bytes:
                stream.close()
                raise ObjectTooLargeError(
                    f"{key} is {announced:,} bytes, more than the {max_bytes:,} allowed; "
                    "it was not downloaded"
                )
            return _read_body(stream, key, max_bytes), response

        body, response = self._call("get", key, fetch)
        return body, self._info(key, response, size=len(body))

    def head(self, key: str) -> ObjectInfo:
        response = self._call(
            "head", key, lambda: self._client.head_object(Bucket=self.bucket, Key=key)
        )
        return self._info(key, response, size=int(response["ContentLength"]))

    @staticmethod
    def _info(key: str, response: Mapping[str, Any], size: int) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=size,
            etag=_unquote(str(response.get("ETag", ""))),
            last_modified=response.get("LastModified"),
            metadata=decode_metadata(response.get("Metadata", {})),
            storage_class=str(response.get("StorageClass") or "STANDARD"),
        )

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if token is not None:
            kwargs["ContinuationToken"] = token
        response = self._call("list", prefix, lambda: self._client.list_objects_v2(**kwargs))
        objects = tuple(
            ObjectInfo(
                key=str(item["Key"]),
                size=int(item["Size"]),
                etag=_unquote(str(item.get("ETag", ""))),
                last_modified=item.get("LastModified"),
                storage_class=str(item.get("StorageClass") or "STANDARD"),
            )
            for item in response.get("Contents", [])
        )
        truncated = bool(response.get("IsTruncated"))
        next_token = response.get("NextContinuationToken") if truncated else None
        return ListPage(objects=objects, next_token=next_token)

    def delete(self, key: str) -> None:
        self._call("delete", key, lambda: self._client.delete_object(Bucket=self.bucket, Key=key))
