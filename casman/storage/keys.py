"""Key validation shared by every backend, applied before any I/O."""

import re

from casman.storage.errors import InvalidKeyError

_SEGMENT = re.compile(r"^[A-Za-z0-9._\-]+$")
MAX_KEY_LENGTH = 1024


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key, else raise InvalidKeyError.

    Keys become file paths on the ``local`` backend, so anything that could escape the
    root (absolute paths, ``..``, backslashes, empty segments) is refused for every backend
    alike: a plugin cannot weaken the rule.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKeyError("object key is empty; give a relative key such as backups/parts.db/…")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"object key is longer than {MAX_KEY_LENGTH} characters")
    if key.startswith("/") or "\\" in key:
        raise InvalidKeyError(f"object key {key!r} must be relative and use '/' separators")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(f"object key {key!r} has an empty, '.' or '..' segment")
        if not _SEGMENT.match(segment):
            raise InvalidKeyError(
                f"object key {key!r} has characters outside letters, digits, '.', '_' and '-'"
            )
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty (everything) or a valid key, optionally ending in '/'."""
    if prefix == "":
        return prefix
    validate_key(prefix.rstrip("/") if prefix.endswith("/") else prefix)
    return prefix
