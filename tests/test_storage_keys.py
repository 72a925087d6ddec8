"""Object keys: whatever a key is, it can never point outside the store.

The ``local`` backend turns keys into paths, so the rule is a security boundary; property
tests look for a key that passes validation yet escapes, and for a rejected key that
raises anything but InvalidKeyError.
"""

from __future__ import annotations

import posixpath
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casman.storage import InvalidKeyError, validate_key, validate_prefix
from casman.storage.keys import MAX_KEY_LENGTH

SEGMENT_ALPHABET = string.ascii_letters + string.digits + "._-"
segments = st.text(SEGMENT_ALPHABET, min_size=1, max_size=20).filter(
    lambda segment: segment not in (".", "..")
)
valid_keys = st.lists(segments, min_size=1, max_size=6).map("/".join)
bad_segments = st.sampled_from(["", ".", ".."])


def _escapes(key: str) -> bool:
    joined = posixpath.normpath(posixpath.join("/root/store", key))
    return not joined.startswith("/root/store/")


@given(valid_keys)
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert validate_key(key) == key
    assert not _escapes(key)


@given(st.text(max_size=60))
def test_any_text_is_either_safe_or_invalid_key_error(key: str) -> None:
    try:
        validate_key(key)
    except InvalidKeyError:
        return
    assert not key.startswith("/")
    assert "\\" not in key
    assert all(segment not in ("", ".", "..") for segment in key.split("/"))
    assert not _escapes(key)


@given(st.lists(segments, max_size=4), bad_segments, st.lists(segments, max_size=4))
def test_a_bad_segment_anywhere_is_rejected(before: list[str], bad: str, after: list[str]) -> None:
    key = "/".join([*before, bad, *after])
    with pytest.raises(InvalidKeyError):
        validate_key(key)


@given(valid_keys)
def test_absolute_and_backslash_forms_are_rejected(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        validate_key("/" + key)
    with pytest.raises(InvalidKeyError):
        validate_key(key.replace("/", "\\") + "\\x")


@given(valid_keys)
def test_prefixes_of_valid_keys_with_slash_are_valid(key: str) -> None:
    assert validate_prefix(key + "/") == key + "/"
    assert validate_prefix(key) == key


@pytest.mark.parametrize(
    "key",
    ["../x", "/abs", "a//b", "a\\b", "", "a/..", "./a", "~/.ssh/id", "C:\\x", "a b", "é"],
)
def test_examples_rejected(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        validate_key(key)


def test_empty_prefix_lists_everything() -> None:
    assert validate_prefix("") == ""


def test_too_long_key_is_rejected() -> None:
    with pytest.raises(InvalidKeyError, match="longer"):
        validate_key("a" * (MAX_KEY_LENGTH + 1))


def test_non_string_key_is_rejected() -> None:
    with pytest.raises(InvalidKeyError):
        validate_key(None)  # type: ignore[arg-type]
