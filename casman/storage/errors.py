"""Errors raised by backends and the storage host.

Backends raise these (never their SDK's own exceptions) so the sync engine and the CLI can
tell "not there" from "refused" from "unreachable" without knowing the backend.
"""

from casman.errors import CasmanError


class StorageError(CasmanError):
    """Any failure talking to a storage backend."""


class InvalidKeyError(StorageError):
    """A key that is not relative, `/`-separated and free of `..`; rejected before any I/O."""


class ObjectNotFoundError(StorageError):
    """The key does not exist on the backend."""


class PreconditionFailedError(StorageError):
    """A conditional write (``if_none_match``/``if_match``) was refused by the backend."""


class ChecksumMismatchError(StorageError):
    """The bytes received do not match the checksum sent with them; nothing was stored."""


class BackendConfigError(StorageError):
    """The backend is misconfigured (missing credentials, bucket, unknown option)."""


class BackendUnavailableError(StorageError):
    """The backend cannot be reached or refused access; the message says what to check."""


class UnknownBackendError(StorageError):
    """No loaded plugin registers a backend of that name."""


class QuotaExceededError(StorageError):
    """An operation was blocked before it was sent because it would pass the quota."""
