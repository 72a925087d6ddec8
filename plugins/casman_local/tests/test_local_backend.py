"""What only the ``local`` backend promises: one file per object, atomic publish."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from casman_local.backend import MAGIC, SUFFIX, LocalBackend
from casman_local.plugin import DEFAULT_PATH

from casman.config import Config
from casman.storage import (
    ChecksumMismatchError,
    PreconditionFailedError,
    Storage,
    content_md5,
)
from casman.storage.plugins import open_storage

KEY = "backups/parts.db/20240101_000000_parts.db"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def storage(root: Path, tmp_path: Path) -> Storage:
    config = Config(database_dir=tmp_path / "database")
    return open_storage(config, "local", environ={"CASMAN_LOCAL_PATH": str(root)})


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def _object_files(root: Path) -> list[str]:
    return [name for name in _files(root) if not name.startswith("@locks")]


def test_one_file_per_object_with_header(storage: Storage, root: Path) -> None:
    storage.put(KEY, b"body\nwith newline", {"Database": "parts.db"})
    assert _object_files(root) == [KEY + SUFFIX]
    data = (root / (KEY + SUFFIX)).read_bytes()
    header, _, body = data.partition(b"\n")
    assert header.startswith(MAGIC)
    payload = json.loads(header[len(MAGIC) :])
    assert payload["size"] == len(b"body\nwith newline")
    assert payload["metadata"] == {"database": "parts.db"}
    assert len(payload["md5"]) == 32
    assert body == b"body\nwith newline"


def test_no_temp_files_left_after_failures(storage: Storage, root: Path) -> None:
    storage.put(KEY, b"v1", {})
    with pytest.raises(ChecksumMismatchError):
        storage.put(KEY, b"v2", {}, md5=content_md5(b"other"))
    with pytest.raises(PreconditionFailedError):
        storage.put(KEY, b"v3", {}, if_none_match="*")
    with pytest.raises(PreconditionFailedError):
        storage.put(KEY, b"v4", {}, if_match="0" * 32)
    storage.put(KEY, b"v5", {}, if_match=storage.head(KEY).etag)
    assert _object_files(root) == [KEY + SUFFIX]
    assert storage.get(KEY)[0] == b"v5"


def test_temp_and_stray_files_are_never_listed(storage: Storage, root: Path) -> None:
    storage.put(KEY, b"v1", {})
    folder = (root / KEY).parent
    (folder / f".{Path(KEY).name}{SUFFIX}.0123456789abcdef.tmp").write_bytes(b"half")
    (folder / "README.txt").write_text("not an object")
    (folder / f"bad name{SUFFIX}").write_text("invalid key")
    assert [info.key for info in storage.list("")] == [KEY]


def test_key_and_folder_of_the_same_name_coexist(storage: Storage) -> None:
    storage.put("a", b"file", {})
    storage.put("a/b", b"nested", {})
    assert storage.get("a")[0] == b"file"
    assert storage.get("a/b")[0] == b"nested"
    assert [info.key for info in storage.list("")] == ["a", "a/b"]


def test_damaged_body_is_detected_on_get(storage: Storage, root: Path) -> None:
    storage.put(KEY, b"precious bytes", {})
    path = root / (KEY + SUFFIX)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match="damaged"):
        storage.get(KEY)


def test_truncated_file_is_detected_on_head_and_listed(storage: Storage, root: Path) -> None:
    storage.put(KEY, b"precious bytes", {"database": "parts.db"})
    path = root / (KEY + SUFFIX)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ChecksumMismatchError):
        storage.head(KEY)
    (listed,) = storage.list("")
    assert listed.key == KEY
    assert listed.etag == ""


def test_file_without_header_is_damaged(storage: Storage, root: Path) -> None:
    path = root / ("plain" + SUFFIX)
    root.mkdir(parents=True)
    path.write_bytes(b"no header here")
    with pytest.raises(ChecksumMismatchError):
        storage.get("plain")


def test_create_only_race_has_one_winner(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "store")
    outcomes: list[str] = []

    def attempt(index: int) -> None:
        body = f"writer {index}".encode()
        try:
            backend.put(KEY, body, metadata={}, content_md5=content_md5(body), if_none_match="*")
            outcomes.append("won")
        except PreconditionFailedError:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]


def test_path_from_environment(tmp_path: Path) -> None:
    config = Config(database_dir=tmp_path, sections={"local": {"path": str(tmp_path / "cfg")}})
    env_root = tmp_path / "from-env"
    storage = open_storage(config, "local", environ={"CASMAN_LOCAL_PATH": str(env_root)})
    assert isinstance(storage.handle.impl, LocalBackend)
    assert storage.handle.impl.root == str(env_root)
    storage.put("x", b"1", {})
    assert (env_root / ("x" + SUFFIX)).is_file()


def test_path_from_config_then_default(tmp_path: Path) -> None:
    config = Config(database_dir=tmp_path, sections={"local": {"path": str(tmp_path / "cfg")}})
    storage = open_storage(config, "local", environ={})
    assert isinstance(storage.handle.impl, LocalBackend)
    assert storage.handle.impl.root == str(tmp_path / "cfg")
    default = open_storage(Config(database_dir=tmp_path), "local", environ={})
    assert isinstance(default.handle.impl, LocalBackend)
    assert default.handle.impl.root == os.path.expanduser(DEFAULT_PATH)


def test_root_is_created_only_on_write(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "not-yet")
    assert backend.list_page("", None, 10).objects == ()
    backend.delete("missing")
    assert not (tmp_path / "not-yet").exists()


def test_plugin_module_does_not_import_fsspec() -> None:
    code = (
        "import sys, casman_local.plugin\n"
        "assert 'fsspec' not in sys.modules, 'plugin imported fsspec'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
