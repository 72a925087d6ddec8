"""The S3 client backend shared by ``s3`` and ``r2``.

One ``put_object`` per upload (no multipart: casman's databases are a few MB, and a single
request keeps Content-MD5 and conditional writes end to end). boto3 is imported in the
constructor so that listing plugins never pays for it.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from casman.storage import ChecksumMismatchError, ListPage, ObjectInfo, StorageError
from casman_s3.errors import Context, Hints, map_error, mark

T = TypeVar("T")

DEFAULT_REGION = "us-east-1"
MAX_SINGLE_PUT_BYTES = 5 * 1024**3
"""S3's limit for one PUT request."""


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


class S3Backend:
    """A bucket on AWS S3 or any S3-compatible endpoint (R2, MinIO, moto).

    Credentials left as None fall back to boto3's default chain (environment, profile,
    instance role). They are handed to boto3 and never kept on this object, so no repr or
    error can show them.
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
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
    ) -> None:
        from botocore.config import Config

        self.bucket = bucket
        self.hints = hints or Hints()
        self.max_single_put_bytes = max_single_put_bytes
        config = Config(
            region_name=region,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": max_attempts, "mode": "standard"},
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
        self._client: Any = _new_client(endpoint_url=endpoint, config=config, **credentials)
        self.endpoint: str = str(self._client.meta.endpoint_url)

    def __repr__(self) -> str:
        return f"S3Backend(bucket={self.bucket!r}, endpoint={self.endpoint!r})"

    def _call(self, action: str, key: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except StorageError:
            raise
        except Exception as error:
            from botocore.exceptions import BotoCoreError, ClientError

            if not isinstance(error, BotoCoreError | ClientError):
                raise
            ctx = Context(action, key, self.bucket, self.endpoint, self.hints)
            raise map_error(error, ctx) from error

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
        for name, value in meta.items():
            if not (name + value).isascii():
                raise mark(
                    StorageError(f"metadata {name!r} of {key} must be ASCII for S3"),
                    sent=False,
                )
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentMD5": content_md5,
            "Metadata": meta,
        }
        if if_none_match is not None:
            kwargs["IfNoneMatch"] = if_none_match
        if if_match is not None:
            kwargs["IfMatch"] = _quote(if_match)
        response = self._call("put", key, lambda: self._client.put_object(**kwargs))
        return ObjectInfo(key=key, size=len(body), etag=_unquote(response["ETag"]), metadata=meta)

    def get(self, key: str) -> tuple[bytes, ObjectInfo]:
        def fetch() -> tuple[bytes, dict[str, Any]]:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read(), response

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
            metadata={str(k).lower(): str(v) for k, v in response.get("Metadata", {}).items()},
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
