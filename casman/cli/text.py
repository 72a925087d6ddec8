"""Text from outside casman, made safe to print (kept apart: imports nothing heavy)."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(value: object) -> str:
    """Text from outside casman (remote metadata, file content) made safe for a terminal.

    Control characters (ESC sequences that could rewrite the screen, bidirectional
    overrides, newlines that could fake a line of output) are shown as ``?``.
    """
    return _CONTROL.sub("?", str(value))
