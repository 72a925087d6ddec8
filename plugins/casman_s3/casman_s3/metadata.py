"""Object metadata any S3-compatible store keeps exactly, whatever the text.

S3 metadata travels as ``x-amz-meta-*`` HTTP headers, which carry ASCII only; stores trim
leading and trailing spaces; AWS S3 decodes RFC 2047 encoded words (``=?utf-8?b?…?=``) it
receives and drops values holding unprintable characters. So a value is sent unchanged only
when every store is certain to return it unchanged: printable ASCII, single spaces between
words, no ``=?`` and not starting with the marker below. Anything else (non-ASCII, control
characters, edge or double spaces, the empty string, and text that merely looks encoded) is
sent as RFC 8187's extended value, ``UTF-8''`` followed by the UTF-8 bytes percent-encoded
(``Ωmega`` → ``UTF-8''%CE%A9mega``): plain ASCII of the safest kind, which no store decodes
or alters. Reading reverses it; a value that is not a well-formed extended value is returned
as stored. RFC 2047 encoded words a store or another tool wrote are decoded too, since this
module never stores ``=?`` itself.

Names are lower-case ASCII letters, digits and ``- _ .`` (S3 lower-cases names anyway); any
other name is refused before a request is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from urllib.parse import quote, unquote_to_bytes

from casman.storage import StorageError

MARKER = "UTF-8''"
"""RFC 8187's ``charset'language'`` prefix with no language: the value is percent-encoded."""

_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")
_PERCENT_ENCODED = re.compile(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})*")
_ENCODED_WORD = r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?="
_ENCODED_WORDS = re.compile(rf"{_ENCODED_WORD}(?:\s+{_ENCODED_WORD})*")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
"""Names every store keeps as given: S3 lower-cases them, some stores mangle the rarer
HTTP token characters."""


def is_plain(value: str) -> bool:
    """Whether ``value`` can be sent as it is and come back identical from any store."""
    return (
        _PLAIN.fullmatch(value) is not None
        and "=?" not in value
        and value[: len(MARKER)].upper() != MARKER
    )


def encode_value(value: str) -> str:
    """``value`` as sent: unchanged if plain, else ``UTF-8''`` and percent-encoded UTF-8.

    ``surrogatepass`` lets even a lone surrogate (a file name decoded with
    ``surrogateescape``) round-trip instead of failing the upload.
    """
    if is_plain(value):
        return value
    return MARKER + quote(value.encode("utf-8", "surrogatepass"), safe="")


def decode_value(stored: str) -> str:
    """The value :func:`encode_value` was given; anything not encoded is returned as is."""
    if stored[: len(MARKER)].upper() == MARKER:
        payload = stored[len(MARKER) :]
        if _PERCENT_ENCODED.fullmatch(payload):
            try:
                return unquote_to_bytes(payload).decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                return stored
        return stored
    if _ENCODED_WORDS.fullmatch(stored.strip()):
        try:
            return str(make_header(decode_header(stored.strip())))
        except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
            return stored
    return stored


def encode_metadata(metadata: Mapping[str, str], key: str) -> dict[str, str]:
    """Names lower-cased and checked, values encoded: what ``put_object`` is given.

    A name that is not an ASCII token raises StorageError (nothing was sent) naming it.
    """
    encoded: dict[str, str] = {}
    for raw_name, value in metadata.items():
        name = str(raw_name).lower()
        if not _NAME.fullmatch(name):
            raise StorageError(
                f"metadata name {name!r} of {key} cannot be sent to S3: use lower-case ASCII "
                "letters, digits and - _ . only",
                request_sent=False,
            )
        encoded[name] = encode_value(str(value))
    return encoded


def decode_metadata(stored: Mapping[str, str]) -> dict[str, str]:
    """Metadata as a HEAD or GET returned it, names lower-cased and values decoded."""
    return {str(name).lower(): decode_value(str(value)) for name, value in stored.items()}
