"""Every invalid input: one line on stderr, exit 1 (2 for usage), both files unchanged."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from casman.db.connection import inaccessible
from tests.conftest import SNAP_CSV, Casman, add_all_types, build_chain, fingerprint

BAD_COMMANDS = [
    ("assembly", "connect", "ANT00001P1", "LNA00001P2"),  # polarization
    ("assembly", "connect", "ANT00002P1", "CXS00002P1"),  # chain order
    ("assembly", "connect", "ANT00002P1", "LNA00001P1"),  # LNA already has an input
    ("assembly", "connect", "ANT00001P1", "LNA00002P1"),  # second outgoing
    ("assembly", "connect", "ANT00001P1", "LNA00001P1"),  # already connected
    ("assembly", "connect", "ANT00002P1", "LNA00099P1"),  # unknown part
    ("assembly", "connect", "ANT00002P1", "ANT00002P1"),  # itself
    ("assembly", "connect", "SNAP010101", "BAC00002P1"),  # SNAP as a source
    ("assembly", "connect", "BAC00002P1", "SNAP050101"),  # no chassis 5
    ("assembly", "connect", "BAC00002P1", "SNAP1A00"),  # port taken
    ("assembly", "connect", "ANT0001P1", "LNA00002P1"),  # malformed
    ("assembly", "disconnect", "ANT00002P1", "LNA00002P1"),  # not connected
    ("parts", "add", "ANTENNA", "3", "P7"),
    ("parts", "add", "WIDGET", "3", "1"),
    ("antenna", "assign", "ANT00001", "CX002E03"),
    ("antenna", "assign", "ANT00001", "CN000E01"),
    ("antenna", "assign", "ANT00077", "CN002E03"),
    ("antenna", "assign", "LNA00001", "CN002E03"),
    ("antenna", "remove", "ANT00002"),
    ("antenna", "show", "ANT00099"),
    ("antenna", "show", "CN02E03"),
    ("snap", "show", "SNAP5A"),
    ("database", "load-snap-boards", "--csv", "does-not-exist.csv"),
    ("database", "print", "--table", "nope"),
]


@pytest.fixture
def populated(casman: Casman) -> Casman:
    add_all_types(casman, 2, "1")
    add_all_types(casman, 2, "2")
    casman.ok("database", "load-snap-boards", "--csv", str(SNAP_CSV))
    build_chain(casman, 1, "P1", "SNAP1A00")
    casman.ok("antenna", "assign", "ANT00001", "CN002E03")
    return casman


@pytest.mark.parametrize("args", BAD_COMMANDS, ids=lambda a: " ".join(a))
def test_bad_command_is_one_line_and_changes_nothing(
    populated: Casman, args: tuple[str, ...]
) -> None:
    before = fingerprint(populated.directory)
    result = populated.fails(*args)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert result.stdout == ""
    assert fingerprint(populated.directory) == before


BAD_CSV_ROWS = [
    "1,A,500,00:00:00:00:00:01,10.0.0.1,0,ok\n1,A,501,00:00:00:00:00:02,10.0.0.2,1,dup board",
    "1,A,500,00:00:00:00:00:01,10.0.0.1,44,feng too big",
    "5,A,500,00:00:00:00:00:01,10.0.0.1,0,chassis 5",
    "1,Z,500,00:00:00:00:00:01,10.0.0.1,0,slot Z",
    "1,A,500,00:00:00:00:00:0Z,10.0.0.1,0,bad mac",
    "1,A,500,00:00:00:00:00:01,10.0.0.999,0,bad ip",
    "1,A,500,00:00:00:00:00:01,10.0.0.1,0,ok\n1,B,500,00:00:00:00:00:02,10.0.0.2,1,dup serial",
]


@pytest.mark.parametrize("rows", BAD_CSV_ROWS)
def test_bad_snap_csv_loads_nothing(populated: Casman, tmp_path: Path, rows: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("chassis,slot,sn,mac,ip,feng_id,notes\n" + rows + "\n")
    before = fingerprint(populated.directory)
    result = populated.fails("database", "load-snap-boards", "--csv", str(path))
    assert "line " in result.stderr and "nothing was loaded" in result.stderr
    assert fingerprint(populated.directory) == before


def test_every_bad_row_is_reported_with_its_line(populated: Casman, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    good = SNAP_CSV.read_text().splitlines()
    good[3] = good[3].replace(",192.", ",999.")
    good[7] = good[7].replace("1,G,", "9,G,")
    path.write_text("\n".join(good) + "\n")
    result = populated.fails("database", "load-snap-boards", "--csv", str(path))
    assert "2 problem(s)" in result.stderr
    assert "line 4:" in result.stderr and "line 8:" in result.stderr


def test_feng_id_clash_with_a_board_not_in_the_file(populated: Casman, tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text(
        "chassis,slot,sn,mac,ip,feng_id,notes\n4,K,999,00:00:00:00:00:01,10.9.9.9,0,clash\n"
    )
    before = fingerprint(populated.directory)
    result = populated.fails("database", "load-snap-boards", "--csv", str(path))
    assert "already used by board SNAP1A" in result.stderr
    assert fingerprint(populated.directory) == before


def test_bad_coordinates_csv_loads_nothing(populated: Casman, tmp_path: Path) -> None:
    path = tmp_path / "grid.csv"
    path.write_text(
        "grid_code,latitude,longitude,height,coordinate_system,notes\n"
        "CN001E01,37.2,-118.2,1183,WGS84,ok\nCN01E01,37.2,-118.2,1183,WGS84,bad code\n"
        "CN001E02,97.2,-118.2,1183,WGS84,bad lat\nCN001E01,37.2,-118.2,1183,WGS84,dup\n"
    )
    before = fingerprint(populated.directory)
    result = populated.fails("database", "load-coordinates", "--csv", str(path))
    assert "3 problem(s)" in result.stderr
    assert fingerprint(populated.directory) == before


def test_unreadable_database_file_is_one_line(casman: Casman) -> None:
    casman.directory.mkdir(parents=True)
    (casman.directory / "assembled_casm.db").write_bytes(b"garbage" * 1000)
    result = casman.fails("parts", "list")
    assert "not a readable SQLite database" in result.stderr
    assert (casman.directory / "assembled_casm.db").read_bytes() == b"garbage" * 1000


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Make ``path`` (a file or folder) inaccessible for this process, then restore it.

    chmod does that for a normal user. Tests usually run as root here, where chmod blocks
    nothing, so the immutable flag (chattr +i) is used instead; it stops root too. Where
    neither works the test is skipped, saying why.
    """
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root, where chmod does not stop writes, and no chattr")
    done = subprocess.run([chattr, "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"running as root and this filesystem has no immutable flag: {done.stderr}")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_read_only_database_file_is_not_called_damaged(populated: Casman) -> None:
    """A healthy parts.db the user may not write: reading works, writing says why not.

    It used to be "database problem: attempt to write a readonly database; … restore a
    backup", sending the user to restore a file that is fine.
    """
    parts_db = populated.directory / "parts.db"
    before = parts_db.read_bytes()
    with _read_only(parts_db):
        listed = populated.ok("parts", "list")
        assert "ANT00001P1" in listed.output
        result = populated.fails("parts", "add", "ANTENNA", "1", "1")
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"Error: cannot write to {parts_db} (permission denied); check its permissions"
    ]
    assert parts_db.read_bytes() == before


def test_read_only_database_folder_is_not_called_damaged(populated: Casman) -> None:
    """A read-only folder: SQLite cannot create the -wal/-shm files a WAL database needs
    even to read, and the old message called the file "not a readable SQLite database"."""
    folder = populated.directory
    assert not list(folder.glob("*-wal")), "the previous command left a WAL file"
    before = fingerprint(folder)
    with _read_only(folder):
        result = populated.fails("parts", "list")
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: cannot write to folder {folder} (")
    assert "check its permissions" in lines[0] and "restore" not in lines[0]
    assert fingerprint(folder) == before


def test_sqlite_readonly_error_maps_to_cannot_write(tmp_path: Path) -> None:
    """The mapping itself, with the very error SQLite gives for a read-only database, so it
    is tested even where the filesystem cannot be made read-only for root."""
    path = tmp_path / "parts.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            conn.execute("INSERT INTO t VALUES (1)")
    finally:
        conn.close()
    error = caught.value
    assert str(error) == "attempt to write a readonly database"
    mapped = inaccessible([path], error)
    assert mapped is not None and str(mapped).startswith(f"cannot write to {path} (")
    assert "restore" not in str(mapped)
    damaged = sqlite3.DatabaseError("file is not a database")
    damaged.sqlite_errorcode = 26  # SQLITE_NOTADB: damage keeps the restore advice
    assert inaccessible([path], damaged) is None


def test_inaccessible_names_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "parts.db"
    path.write_bytes(b"")
    error = sqlite3.OperationalError("attempt to write a readonly database")
    error.sqlite_errorcode = 8
    real_access = os.access

    def access(blocked_mode: int) -> None:
        monkeypatch.setattr(
            os,
            "access",
            lambda p, m: not (Path(p) == path and m == blocked_mode) and real_access(p, m),
        )

    access(os.W_OK)
    mapped = inaccessible([path], error)
    assert str(mapped) == f"cannot write to {path} (permission denied); check its permissions"
    cantopen = sqlite3.OperationalError("unable to open database file")
    cantopen.sqlite_errorcode = 14
    access(os.R_OK)
    mapped = inaccessible([path], cantopen)
    assert str(mapped) == f"cannot read {path} (permission denied); check its permissions"
    access(os.W_OK)

    class ReadOnlyMount:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", lambda folder: ReadOnlyMount())
    mapped = inaccessible([path], error)
    assert str(mapped) == (f"cannot write to {path} (read-only file system); check its permissions")
