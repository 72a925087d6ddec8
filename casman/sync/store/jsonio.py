"""Reading JSON that comes from a store: bounded in size and in nesting, never trusted.

A head or metadata object of absurdly nested JSON must give one line, not a RecursionError
traceback; a huge one must not be read at all (the GET itself is capped by ``max_bytes``).
"""

from __future__ import annotations

import json
from typing import Any

from casman.sync.errors import DamagedObjectError

MAX_DEPTH = 32


def _depth_ok(text: str, limit: int) -> bool:
    """Nesting depth of brackets outside strings, without recursion."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def load_json(body: bytes, what: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``body`` as JSON or raise one line naming ``what`` and the problem."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DamagedObjectError(f"{what} is not UTF-8 text; it was set aside") from None
    if not _depth_ok(text, max_depth):
        raise DamagedObjectError(f"{what} is nested deeper than {max_depth} levels; set aside")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise DamagedObjectError(f"{what} is not valid JSON ({error}); set aside") from None


def dump_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
