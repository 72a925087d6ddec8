"""How casman 0.1's ``local`` backend wrote an object, copied from its source.

0.1 kept each object as ``<root>/<key>@casman``: the header line
``CASMAN-OBJECT/1 {"md5": …, "metadata": {…}, "size": …}`` (``Header.encode`` below is 0.1's
code, unchanged) followed by the body, and left one empty lock file per key ever written in
``<root>/@locks/``. The tests write stores this way to prove they are read and converted;
it also documents the format for anyone reading a 0.1 store by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

MAGIC = b"CASMAN-OBJECT/1 "
SUFFIX = "@casman"
LOCK_DIR = "@locks"


def encode_header(md5: str, size: int, metadata: Mapping[str, str]) -> bytes:
    """0.1's ``Header.encode``."""
    payload = {"md5": md5, "size": size, "metadata": dict(metadata)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return MAGIC + text.encode("ascii") + b"\n"


def write_object(root: Path, key: str, body: bytes, metadata: Mapping[str, str]) -> Path:
    """Store ``body`` under ``key`` exactly as 0.1 did (its lock file included)."""
    path = root.joinpath(*key.split("/")).with_name(key.split("/")[-1] + SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean = {name.lower(): value for name, value in metadata.items()}
    path.write_bytes(encode_header(hashlib.md5(body).hexdigest(), len(body), clean) + body)
    locks = root / LOCK_DIR
    locks.mkdir(exist_ok=True)
    (locks / (hashlib.sha256(key.encode("utf-8")).hexdigest()[:40] + ".lock")).touch()
    return path


def legacy_files(root: Path) -> list[str]:
    """Every file of the 0.1 layout still in the store."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and (path.name.endswith(SUFFIX) or LOCK_DIR in path.parts)
    )


def downgrade(root: Path) -> None:
    """Rewrite a store of the plain layout as 0.1 would have written the same objects.

    Used to turn a store made by today's ``casman sync backup`` into the one 0.1 would
    have made from the same snapshots: each object's body and metadata, 0.1's files.
    """
    from casman.storage.plainfiles import META_SUFFIX
    from casman_local.backend import LocalBackend

    backend = LocalBackend(root)
    keys = [info.key for info in backend.list_page("", None, 10_000).objects]
    for key in keys:
        body, info = backend.get(key)
        write_object(root, key, body, info.metadata)
        plain = root.joinpath(*key.split("/"))
        plain.unlink()
        os.unlink(str(plain) + META_SUFFIX)
    (root / ".casman@lock").unlink(missing_ok=True)
