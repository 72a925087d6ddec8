"""Errors raised by backends and the storage host.

Backends raise these (never their SDK's own exceptions) so the sync engine and the CLI can
tell "not there" from "refused" from "unreachable" without knowing the backend.
"""

from casman.errors import CasmanError


class StorageError(CasmanError):
    """Any failure talking to a storage backend.

    ``request_sent`` tells the quota wrapper whether the request reached the server (and so
    is billed, whatever its answer: R2 bills 4xx and 5xx). A backend that refuses a call
    before sending anything sets it to False (``StorageError(..., request_sent=False)`` or
    by assigning the attribute); the default, True, errs on the side of the quota.
    """

    request_sent: bool = True

    def __init__(self, *args: object, request_sent: bool | None = None) -> None:
        super().__init__(*args)
        if request_sent is not None:
            self.request_sent = request_sent


class InvalidKeyError(StorageError):
    """A key that is not relative, `/`-separated and free of `..`; rejected before any I/O."""

    request_sent = False


class ObjectNotFoundError(StorageError):
    """The key does not exist on the backend."""


class PreconditionFailedError(StorageError):
    """A conditional write (``if_none_match``/``if_match``) was refused by the backend."""


class ChecksumMismatchError(StorageError):
    """The bytes received do not match the checksum sent with them; nothing was stored."""


class BackendConfigError(StorageError):
    """The backend is misconfigured (missing credentials, bucket, unknown option)."""

    request_sent = False


class IncompatibleBackendError(BackendConfigError):
    """A backend this casman cannot use as it is: a storage protocol version it does not
    serve, a missing method, or a parameter without a default that casman never passes.
    Raised when the backend is loaded, before any request."""


class BackendUnavailableError(StorageError):
    """The backend cannot be reached or refused access; the message says what to check."""


class UnknownBackendError(StorageError):
    """No loaded plugin registers a backend of that name."""


class ObjectTooLargeError(StorageError):
    """A GET whose object is larger than the caller's ``max_bytes``; its body was not read.

    Backends raise it from the size the server announces (Content-Length, ``stat``) before
    reading the body, so a huge or hostile object never fills memory.
    """


class QuotaExceededError(StorageError):
    """An operation was blocked before it was sent because it would pass the quota."""

    request_sent = False
