"""What only the ``local`` backend promises: plain files, metadata beside them, no leftovers.

Every test goes through the public API (``casman.storage``, ``casman.testing``) or looks at
the files themselves, which is what a user with a USB stick and no casman would see.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from casman_local.backend import LOCK_NAME, META_SUFFIX, Entry, LocalBackend
from casman_local.plugin import default_path

from casman.storage import (
    ChecksumMismatchError,
    InvalidKeyError,
    ObjectNotFoundError,
    PreconditionFailedError,
    Storage,
    content_md5,
)
from casman.testing import open_backend

KEY = "backups/parts.db/20240101_000000_parts.db"
HEAD = "backups/parts.db/HEAD.json"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def storage(root: Path, tmp_path: Path) -> Storage:
    return open_backend("local", tmp_path / "database", environ={"CASMAN_LOCAL_PATH": str(root)})


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def _sqlite_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "made.db"
    with sqlite3.connect(path) as connection:
        connection.execute("create table parts (part_number text primary key)")
        connection.executemany("insert into parts values (?)", [("ANT00001P1",), ("LNA00001P1",)])
    connection.close()
    return path.read_bytes()


# -- the layout -----------------------------------------------------------------------------


def test_an_object_is_the_plain_file_with_its_metadata_beside_it(
    storage: Storage, root: Path, tmp_path: Path
) -> None:
    body = _sqlite_bytes(tmp_path)
    storage.put(KEY, body, {"Database": "parts.db", "sha256": "ab" * 32})
    assert _files(root) == [LOCK_NAME, KEY, KEY + META_SUFFIX]
    assert (root / KEY).read_bytes() == body  # byte for byte, no header
    with sqlite3.connect(f"file:{root / KEY}?mode=ro", uri=True) as connection:
        assert connection.execute("select count(*) from parts").fetchone() == (2,)
    connection.close()
    meta = json.loads((root / (KEY + META_SUFFIX)).read_text())
    (entry,) = meta["objects"]
    assert entry["size"] == len(body)
    assert entry["metadata"] == {"database": "parts.db", "sha256": "ab" * 32}
    assert entry["md5"] == storage.head(KEY).etag


def test_a_head_object_gets_a_sidecar_no_key_can_name(storage: Storage, root: Path) -> None:
    storage.put(HEAD, b'{"format": 1}', {})
    sidecar = HEAD + META_SUFFIX
    assert (root / sidecar).is_file()
    with pytest.raises(InvalidKeyError):
        storage.put(sidecar, b"x", {})  # '@' is not allowed in a key
    assert [info.key for info in storage.list("backups/")] == [HEAD]


def test_no_lock_file_per_key_is_left_behind(storage: Storage, root: Path) -> None:
    for index in range(20):
        key = f"backups/parts.db/2024010{index % 10}_00000{index // 10}_parts.db"
        storage.put(key, f"v{index}".encode(), {}, if_none_match="*")
    for info in list(storage.list("")):
        storage.delete(info.key)
    assert _files(root) == [LOCK_NAME]  # one lock file for the store, nothing per key


def test_no_temp_files_left_after_failures(storage: Storage, root: Path) -> None:
    storage.put(KEY, b"v1", {})
    with pytest.raises(ChecksumMismatchError):
        storage.put(KEY, b"v2", {}, md5=content_md5(b"other"))
    with pytest.raises(PreconditionFailedError):
        storage.put(KEY, b"v3", {}, if_none_match="*")
    with pytest.raises(PreconditionFailedError):
        storage.put(KEY, b"v4", {}, if_match="0" * 32)
    storage.put(KEY, b"v5", {}, if_match=storage.head(KEY).etag)
    assert _files(root) == [LOCK_NAME, KEY, KEY + META_SUFFIX]
    assert storage.get(KEY)[0] == b"v5"


def test_bookkeeping_and_stray_files_are_never_listed(storage: Storage, root: Path) -> None:
    storage.put(KEY, b"v1", {})
    folder = (root / KEY).parent
    (folder / f".{Path(KEY).name}@0123456789abcdef.tmp").write_bytes(b"half")
    (folder / "bad name").write_text("not a valid key")
    (folder / ("gone" + META_SUFFIX)).write_text("{}")  # metadata without its object
    assert [info.key for info in storage.list("")] == [KEY]
    with pytest.raises(ObjectNotFoundError):
        storage.head("backups/parts.db/gone")


def test_a_file_copied_in_by_hand_is_an_object_without_metadata(
    storage: Storage, root: Path
) -> None:
    (root / "backups").mkdir(parents=True)
    (root / "backups" / "copied.db").write_bytes(b"copied by hand")
    info = storage.head("backups/copied.db")
    assert info.size == len(b"copied by hand") and dict(info.metadata) == {}
    assert [i.key for i in storage.list("backups/")] == ["backups/copied.db"]
    with pytest.raises(PreconditionFailedError):
        storage.put("backups/copied.db", b"new", {}, if_none_match="*")
    assert storage.get("backups/copied.db")[0] == b"copied by hand"


def test_a_key_cannot_also_be_a_folder(storage: Storage) -> None:
    storage.put("a/b", b"nested", {})
    with pytest.raises(InvalidKeyError, match="plain files") as clash:
        storage.put("a", b"file", {})
    assert "\n" not in str(clash.value)
    storage.put("c", b"file", {})
    with pytest.raises(InvalidKeyError, match="plain files"):
        storage.put("c/d", b"nested", {})
    with pytest.raises(ObjectNotFoundError):
        storage.get("a")
    assert [info.key for info in storage.list("")] == ["a/b", "c"]


# -- damage -------------------------------------------------------------------------------


def test_damaged_body_is_detected_on_get(storage: Storage, root: Path) -> None:
    storage.put(KEY, b"precious bytes", {})
    path = root / KEY
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError, match="damaged"):
        storage.get(KEY)


def test_truncated_file_is_detected_on_head_and_listed(storage: Storage, root: Path) -> None:
    storage.put(KEY, b"precious bytes", {"database": "parts.db"})
    path = root / KEY
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ChecksumMismatchError):
        storage.head(KEY)
    (listed,) = storage.list("")
    assert listed.key == KEY
    assert listed.etag == ""  # listed so that `maintain` reports it


def test_unreadable_metadata_is_damage(storage: Storage, root: Path) -> None:
    storage.put(KEY, b"body", {})
    (root / (KEY + META_SUFFIX)).write_text("not json")
    with pytest.raises(ChecksumMismatchError, match="metadata"):
        storage.get(KEY)
    storage.put(KEY, b"replaced", {"v": "2"})  # a damaged object can still be replaced
    assert storage.get(KEY)[0] == b"replaced"


# -- crash safety and concurrency ---------------------------------------------------------


def test_a_crash_between_metadata_and_body_leaves_the_old_object(root: Path) -> None:
    backend = LocalBackend(root)
    old = backend.put(KEY, b"old body", metadata={"v": "1"}, content_md5=content_md5(b"old body"))
    # what a writer has done when it dies after writing the sidecar, before the body
    new = Entry("0" * 32, len(b"the new body"), {"v": "2"})
    backend._write_meta(str(root / KEY), [new, Entry(old.etag, old.size, {"v": "1"})])
    body, info = backend.get(KEY)
    assert (body, dict(info.metadata), info.etag) == (b"old body", {"v": "1"}, old.etag)
    assert backend.head(KEY).etag == old.etag
    # and the next writer swaps from the old ETag, as if the dead one had never started
    backend.put(KEY, b"v3", metadata={"v": "3"}, content_md5=content_md5(b"v3"), if_match=old.etag)
    assert dict(backend.head(KEY).metadata) == {"v": "3"}


def test_a_crash_before_a_new_key_is_published_leaves_no_object(root: Path) -> None:
    backend = LocalBackend(root)
    backend.put("other", b"x", metadata={}, content_md5=content_md5(b"x"))
    (root / KEY).parent.mkdir(parents=True)
    backend._write_meta(str(root / KEY), [Entry("0" * 32, 3, {"v": "1"})])
    (root / KEY).parent.joinpath(f".{Path(KEY).name}@dead.tmp").write_bytes(b"abc")
    with pytest.raises(ObjectNotFoundError):
        backend.head(KEY)
    assert [info.key for info in backend.list_page("", None, 10).objects] == ["other"]
    backend.put(KEY, b"new", metadata={}, content_md5=content_md5(b"new"), if_none_match="*")
    assert backend.get(KEY)[0] == b"new"


def test_readers_never_see_a_body_with_another_bodys_metadata(root: Path) -> None:
    backend = LocalBackend(root)
    bodies = [bytes([index]) * 64 for index in range(2)]  # same size: the hard case
    backend.put(KEY, bodies[0], metadata={"n": "0"}, content_md5=content_md5(bodies[0]))
    stop = threading.Event()
    errors: list[str] = []

    def write() -> None:
        for round_ in range(300):
            body = bodies[round_ % 2]
            backend.put(KEY, body, metadata={"n": str(round_ % 2)}, content_md5=content_md5(body))
        stop.set()

    def read() -> None:
        while not stop.is_set():
            body, info = backend.get(KEY)
            if info.metadata["n"] != str(body[0]):
                errors.append(f"body {body[0]} with metadata {dict(info.metadata)}")
            head = backend.head(KEY)
            if head.size != 64:
                errors.append(f"head size {head.size}")

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


def test_create_only_race_has_one_winner(root: Path) -> None:
    backend = LocalBackend(root)
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


SWAP_SCRIPT = """
import sys
from casman_local.backend import LocalBackend
from casman.storage import PreconditionFailedError, content_md5
backend = LocalBackend(sys.argv[1])
body = sys.argv[2].encode()
try:
    backend.put(sys.argv[3], body, metadata={}, content_md5=content_md5(body),
                if_match=sys.argv[4])
    print("won")
except PreconditionFailedError:
    print("lost")
"""


def test_compare_and_swap_race_between_processes_has_one_winner(root: Path) -> None:
    backend = LocalBackend(root)
    first = backend.put(HEAD, b"v0", metadata={}, content_md5=content_md5(b"v0"))
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", SWAP_SCRIPT, str(root), f"writer {index}", HEAD, first.etag],
            stdout=subprocess.PIPE,
            text=True,
        )
        for index in range(6)
    ]
    outcomes = sorted(run.communicate(timeout=120)[0].strip() for run in runs)
    assert outcomes == ["lost"] * 5 + ["won"]
    assert backend.get(HEAD)[0].startswith(b"writer ")


def test_tidy_removes_leftovers_of_dead_writers_only(root: Path) -> None:
    backend = LocalBackend(root)
    backend.put(KEY, b"kept", metadata={"v": "1"}, content_md5=content_md5(b"kept"))
    folder = (root / KEY).parent
    (folder / ("orphan" + META_SUFFIX)).write_text('{"format": "casman-local/2", "objects": []}')
    dead = folder / f".{Path(KEY).name}@deadbeef.tmp"
    dead.write_bytes(b"half")
    with backend._held_temp(str(folder / ".live@cafe.tmp")):  # a writer still at work
        done = backend.tidy("backups/")
        assert (folder / ".live@cafe.tmp").exists()
    (folder / ".live@cafe.tmp").unlink()  # the writer finished
    assert sorted(done) == [
        "removed a temp file left by a writer that died: "
        f"backups/parts.db/.{Path(KEY).name}@deadbeef.tmp",
        f"removed metadata without an object: backups/parts.db/orphan{META_SUFFIX}",
    ]
    assert not dead.exists()
    assert backend.get(KEY)[0] == b"kept"
    assert backend.tidy("backups/") == []


# -- settings -----------------------------------------------------------------------------


def test_path_from_environment(tmp_path: Path) -> None:
    env_root = tmp_path / "from-env"
    storage = open_backend(
        "local",
        tmp_path / "db",
        environ={"CASMAN_LOCAL_PATH": str(env_root)},
        section={"path": str(tmp_path / "cfg")},
    )
    storage.put("x", b"1", {})
    assert (env_root / "x").read_bytes() == b"1"
    assert not (tmp_path / "cfg").exists()


def test_path_from_config_then_default(tmp_path: Path) -> None:
    storage = open_backend("local", tmp_path / "db", section={"path": str(tmp_path / "cfg")})
    storage.put("x", b"1", {})
    assert (tmp_path / "cfg" / "x").read_bytes() == b"1"
    default = open_backend("local", tmp_path / "db")
    assert repr(default.handle.impl) == f"LocalBackend({str(default_path())!r})"


def test_root_is_created_only_on_write(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path / "not-yet")
    assert backend.list_page("", None, 10).objects == ()
    backend.delete("missing")
    assert backend.tidy("") == []
    assert not (tmp_path / "not-yet").exists()


def test_the_backend_uses_no_fsspec(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from casman_local.backend import LocalBackend\n"
        "from casman.storage import content_md5\n"
        f"b = LocalBackend({str(tmp_path / 's')!r})\n"
        "b.put('k', b'x', metadata={}, content_md5=content_md5(b'x'))\n"
        "b.get('k'); b.list_page('', None, 10); b.delete('k')\n"
        "assert 'fsspec' not in sys.modules, 'fsspec was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
