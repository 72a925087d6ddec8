"""casman's storage plugin host: the public names a backend plugin may import.

Plugins import only from ``casman.storage`` (and ``casman.testing`` in their tests), so the
modules behind these names can be reorganised without breaking third-party backends. The
PluginManager itself lives in :mod:`casman.plugins` and is deliberately not imported here:
importing a plugin must never load every other plugin.
"""

from casman.hookspecs import hookimpl, hookspec
from casman.storage import plainfiles
from casman.storage.backend import (
    Backend,
    BackendFactory,
    BackendOption,
    BackendSpec,
    Capabilities,
    CostModel,
    ListPage,
    ObjectInfo,
    OperationKind,
)
from casman.storage.compat import OLDEST_PROTOCOL, PROTOCOL_VERSION
from casman.storage.errors import (
    BackendConfigError,
    BackendUnavailableError,
    ChecksumMismatchError,
    IncompatibleBackendError,
    InvalidKeyError,
    ObjectNotFoundError,
    ObjectTooLargeError,
    PreconditionFailedError,
    QuotaExceededError,
    StorageError,
    UnknownBackendError,
)
from casman.storage.keys import validate_key, validate_prefix
from casman.storage.operations import (
    BackendHandle,
    Storage,
    StorageOp,
    StorageResult,
    content_md5,
)

__all__ = [
    "OLDEST_PROTOCOL",
    "PROTOCOL_VERSION",
    "Backend",
    "BackendConfigError",
    "BackendFactory",
    "BackendHandle",
    "BackendOption",
    "BackendSpec",
    "BackendUnavailableError",
    "Capabilities",
    "ChecksumMismatchError",
    "CostModel",
    "IncompatibleBackendError",
    "InvalidKeyError",
    "ListPage",
    "ObjectInfo",
    "ObjectNotFoundError",
    "ObjectTooLargeError",
    "OperationKind",
    "PreconditionFailedError",
    "QuotaExceededError",
    "Storage",
    "StorageError",
    "StorageOp",
    "StorageResult",
    "UnknownBackendError",
    "content_md5",
    "hookimpl",
    "hookspec",
    "plainfiles",
    "validate_key",
    "validate_prefix",
]
