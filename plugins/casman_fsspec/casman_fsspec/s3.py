"""``s3://`` through s3fs: one object per key, metadata on the object, real preconditions.

An object store keeps body and metadata in one atomic PUT, and S3 checks ``If-None-Match:
*`` / ``If-Match`` and ``Content-MD5`` on the server, so this driver uses s3fs's client for
exactly those calls (``put_object``, ``get_object``, ``head_object``, ``list_objects_v2``,
``delete_object``) rather than the sidecar layout of other filesystems. s3fs supplies the
connection, credentials and endpoint settings (``options`` such as ``endpoint_url``, ``key``,
``secret``), never a cached listing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from casman.storage import (
    BackendUnavailableError,
    ChecksumMismatchError,
    ListPage,
    ObjectInfo,
    ObjectNotFoundError,
    ObjectTooLargeError,
    PreconditionFailedError,
    StorageError,
    validate_key,
)

T = TypeVar("T")
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}
_CHECKSUM = {"BadDigest", "InvalidDigest"}
_MISSING = {"NoSuchKey", "404", "NotFound"}


def _client_error(error: BaseException) -> tuple[str, str]:
    """(error code, message) of the botocore error behind an s3fs exception, if any."""
    seen: BaseException | None = error
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, Mapping):
            details = response.get("Error", {})
            status = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            return str(details.get("Code") or status), str(details.get("Message", ""))
        seen = seen.__cause__
    return "", ""


def _unquote(etag: str) -> str:
    return etag.strip('"')


class S3Store:
    """A bucket (and key prefix) through s3fs's S3 client."""

    def __init__(self, connect: Callable[[], tuple[Any, str]], where: str) -> None:
        self._connect = connect
        self._fs: Any = None
        self._bucket = ""
        self._prefix = ""
        self.where = where

    @property
    def fs(self) -> Any:
        if self._fs is None:
            fs, path = self._call("connect to", "", self._connect)
            bucket, _, prefix = path.strip("/").partition("/")
            self._fs, self._bucket = fs, bucket
            self._prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        return self._fs

    def _key(self, key: str) -> str:
        validate_key(key)
        self.fs  # noqa: B018 - connects, sets bucket and prefix
        return self._prefix + key

    def _call(self, action: str, key: str, function: Callable[[], T]) -> T:
        try:
            return function()
        except StorageError:
            raise
        except Exception as error:
            raise self._translate(action, key, error) from None

    def _translate(self, action: str, key: str, error: Exception) -> StorageError:
        """One line for an SDK failure: not found, or unavailable with the server's code."""
        code, message = _client_error(error)
        if code in _MISSING:
            return ObjectNotFoundError(f"object {key} not found on {self.where}")
        reason = message or (str(error).strip().splitlines() or [type(error).__name__])[0]
        what = f" {key}" if key else ""
        detail = f" ({reason})" if code and reason and reason != code else ""
        return BackendUnavailableError(
            f"fsspec backend cannot {action}{what} on {self.where}: {code or reason}{detail}"
        )

    def _s3(self, method: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.fs.call_s3(method, Bucket=self._bucket, **kwargs)
        return result

    def put(
        self,
        key: str,
        body: bytes,
        *,
        metadata: Mapping[str, str],
        content_md5: str,
        if_none_match: str | None,
        if_match: str | None,
    ) -> ObjectInfo:
        full = self._key(key)
        clean = {name.lower(): value for name, value in metadata.items()}
        conditions: dict[str, str] = {}
        if if_none_match is not None:
            conditions["IfNoneMatch"] = if_none_match
        if if_match is not None:
            conditions["IfMatch"] = f'"{_unquote(if_match)}"'
        try:
            response = self._s3(
                "put_object",
                Key=full,
                Body=body,
                Metadata=clean,
                ContentMD5=content_md5,
                **conditions,
            )
        except Exception as error:
            code, _ = _client_error(error)
            if code in _PRECONDITION or (if_match is not None and code in _MISSING):
                raise PreconditionFailedError(
                    f"object {key} was not written: the store refused the condition"
                ) from None
            if code in _CHECKSUM:
                raise ChecksumMismatchError(
                    "upload does not match its Content-MD5; nothing was stored"
                ) from None
            raise self._translate("write", key, error) from None
        return ObjectInfo(
            key=key, size=len(body), etag=_unquote(str(response.get("ETag", ""))), metadata=clean
        )

    def head(self, key: str) -> ObjectInfo:
        full = self._key(key)
        response = self._call("read", key, lambda: self._s3("head_object", Key=full))
        return self._info(key, response)

    def get(self, key: str, *, max_bytes: int | None = None) -> tuple[bytes, ObjectInfo]:
        full = self._key(key)

        async def fetch() -> tuple[bytes, dict[str, Any]]:
            response: dict[str, Any] = await self.fs._call_s3(
                "get_object", Bucket=self._bucket, Key=full
            )
            stream = response["Body"]
            try:
                announced = int(response.get("ContentLength", 0))
                if max_bytes is not None and announced > max_bytes:
                    raise ObjectTooLargeError(
                        f"object {key} is {announced:,} bytes, more than the {max_bytes:,} "
                        "allowed; not read"
                    )
                body: bytes = await stream.read()
            finally:
                stream.close()
            return body, response

        from fsspec.asyn import sync

        body, response = self._call("read", key, lambda: sync(self.fs.loop, fetch))
        return body, self._info(key, response)

    def _info(self, key: str, response: Mapping[str, Any]) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=int(response.get("ContentLength", 0)),
            etag=_unquote(str(response.get("ETag", ""))),
            last_modified=response.get("LastModified"),
            metadata={name.lower(): value for name, value in response.get("Metadata", {}).items()},
            storage_class=str(response.get("StorageClass") or "STANDARD"),
        )

    def list_page(self, prefix: str, token: str | None, max_keys: int) -> ListPage:
        self.fs  # noqa: B018
        arguments: dict[str, Any] = {"Prefix": self._prefix + prefix, "MaxKeys": max(max_keys, 1)}
        if token:
            arguments["ContinuationToken"] = token
        response = self._call(
            "list", prefix or "/", lambda: self._s3("list_objects_v2", **arguments)
        )
        objects = tuple(
            ObjectInfo(
                key=item["Key"][len(self._prefix) :],
                size=int(item.get("Size", 0)),
                etag=_unquote(str(item.get("ETag", ""))),
                last_modified=item.get("LastModified"),
                storage_class=str(item.get("StorageClass") or "STANDARD"),
            )
            for item in response.get("Contents", ())
        )
        next_token = response.get("NextContinuationToken") if response.get("IsTruncated") else None
        return ListPage(objects, next_token)

    def delete(self, key: str) -> None:
        full = self._key(key)
        self._call("delete", key, lambda: self._s3("delete_object", Key=full))
