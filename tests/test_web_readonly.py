"""Read-only access: ``casman.db.readonly.open_read_only`` and the web view built on it.

A reader must never create a database, change a file or hold the write lock a
technician's scan needs; when the databases are not there it says which directory and
which file, in one line, and the web answers 503.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from casman.db.chains import all_chains
from casman.db.connection import DatabaseFileError, open_databases
from casman.db.positions import all_coordinates
from casman.db.readonly import open_read_only
from casman.db.snap_boards import all_boards
from casman.web.app import create_app
from tests.conftest import fingerprint
from tests.web_testdata import build_web_database

PAGES = ("/", "/chains", "/grid", "/snap", "/api/chains", "/api/grid", "/api/snap")
DATABASE_FILES = ("parts.db", "assembled_casm.db")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_web_database(tmp_path_factory.mktemp("readonly") / "database")


def raw_bytes(directory: Path) -> dict[str, str]:
    """SHA-256 of the database files as they are on disk (no checkpoint, unlike fingerprint)."""
    return {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in DATABASE_FILES
    }


def open_error(directory: Path) -> str:
    with pytest.raises(DatabaseFileError) as raised:
        open_read_only(directory)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_existing_query_functions_work_unchanged(database: Path) -> None:
    conn = open_read_only(database)
    try:
        assert len(all_chains(conn)) == 6
        assert len(all_boards(conn)) == 39
        assert len(all_coordinates(conn)) == 258
        row = conn.execute("SELECT part_number FROM parts LIMIT 1").fetchone()
        assert isinstance(row, sqlite3.Row) and row["part_number"]
    finally:
        conn.close()


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO parts (part_number) VALUES ('ANT09999P1')",
        "INSERT INTO asm.assembly (part_number) VALUES ('ANT09999P1')",
        "DELETE FROM snap_boards",
        "CREATE TABLE main.extra (x)",
        "PRAGMA main.user_version = 7",
    ],
)
def test_sqlite_refuses_every_write(database: Path, statement: str) -> None:
    before = fingerprint(database)
    conn = open_read_only(database)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute(statement)
    finally:
        conn.close()
    assert fingerprint(database) == before


def test_reader_takes_no_write_lock_and_sees_new_commits(database: Path) -> None:
    reader = open_read_only(database)
    writer = open_databases(database)
    try:
        assert reader.execute("SELECT COUNT(*) FROM parts").fetchone()[0] > 0
        writer.execute("BEGIN IMMEDIATE")  # would wait 30 s and fail if the reader held a lock
        writer.execute("INSERT INTO parts (part_number, part_type) VALUES ('ANT09999P1', 'ANT')")
        # a reader is not blocked by a writer either (WAL): it sees the last commit
        seen = reader.execute("SELECT 1 FROM parts WHERE part_number = 'ANT09999P1'").fetchone()
        assert seen is None
        writer.execute("COMMIT")
        seen = reader.execute("SELECT 1 FROM parts WHERE part_number = 'ANT09999P1'").fetchone()
        assert seen is not None  # autocommit: no stale snapshot held between statements
        writer.execute("DELETE FROM parts WHERE part_number = 'ANT09999P1'")
    finally:
        reader.close()
        writer.close()


def test_database_files_are_not_modified(database: Path) -> None:
    before = raw_bytes(database)
    conn = open_read_only(database)
    try:
        all_chains(conn)
    finally:
        conn.close()
    assert raw_bytes(database) == before


def test_missing_directory_is_named_and_not_created(tmp_path: Path) -> None:
    message = open_error(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in message and "does not exist" in message
    assert not (tmp_path / "nowhere").exists()


def test_empty_directory_names_the_missing_file_and_stays_empty(tmp_path: Path) -> None:
    message = open_error(tmp_path)
    assert f"no casman database in {tmp_path}: parts.db is missing" in message
    assert os.listdir(tmp_path) == []


def test_missing_assembly_database_is_named(tmp_path: Path, database: Path) -> None:
    (tmp_path / "parts.db").write_bytes((database / "parts.db").read_bytes())
    message = open_error(tmp_path)
    assert f"no casman database in {tmp_path}: assembled_casm.db is missing" in message
    assert sorted(os.listdir(tmp_path)) == ["parts.db"]


def test_directory_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert "is not a directory" in open_error(tmp_path / "file")


def test_database_path_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "parts.db").mkdir()
    (tmp_path / "assembled_casm.db").mkdir()
    message = open_error(tmp_path)
    assert f"{tmp_path / 'parts.db'} is not a file" in message


def test_file_that_is_not_sqlite(tmp_path: Path) -> None:
    for name in DATABASE_FILES:
        (tmp_path / name).write_bytes(b"this is not a database at all" * 100)
    message = open_error(tmp_path)
    assert str(tmp_path / "parts.db") in message and "not a readable SQLite database" in message


def test_sqlite_file_that_is_not_casman(tmp_path: Path, database: Path) -> None:
    (tmp_path / "parts.db").write_bytes((database / "parts.db").read_bytes())
    other = sqlite3.connect(tmp_path / "assembled_casm.db")
    other.execute("CREATE TABLE something_else (x)")
    other.close()
    before = raw_bytes(tmp_path)
    message = open_error(tmp_path)
    assert f"{tmp_path / 'assembled_casm.db'} is not a casman assembled_casm.db" in message
    assert "assembly" in message
    assert raw_bytes(tmp_path) == before


def test_empty_files_are_not_casman_databases(tmp_path: Path) -> None:
    for name in DATABASE_FILES:
        (tmp_path / name).touch()
    message = open_error(tmp_path)
    assert "is not a casman parts.db" in message
    assert all((tmp_path / name).stat().st_size == 0 for name in DATABASE_FILES)


def test_read_only_folder_is_not_called_damage(database: Path) -> None:
    """A WAL reader in a folder it may not write fails with SQLITE_READONLY_DIRECTORY.

    Tests run as root here, where permissions are not enforced, so the error SQLite gives
    such a user (checked by hand as ``nobody``) is built directly.
    """
    from casman.db.readonly import _unreadable

    error = sqlite3.OperationalError("attempt to write a readonly database")
    error.sqlite_errorcode = 1544  # SQLITE_READONLY_DIRECTORY
    message = str(_unreadable(database / "parts.db", error))
    assert f"let this user write to folder {database}" in message
    assert "restore" not in message
    damaged = sqlite3.DatabaseError("file is not a database")
    damaged.sqlite_errorcode = 26  # SQLITE_NOTADB
    assert "restore" in str(_unreadable(database / "parts.db", damaged))


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    open_databases(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "parts.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    assert "newer than this casman understands" in open_error(tmp_path)


def old_format_copy(source: Path, target: Path) -> Path:
    """``source``'s databases as the original spec's DDL left them: no grid_positions table."""
    target.mkdir()
    for name in DATABASE_FILES:
        (target / name).write_bytes((source / name).read_bytes())
    conn = sqlite3.connect(target / "parts.db")
    conn.execute("DROP TABLE grid_positions")
    conn.execute("PRAGMA user_version = 0")
    conn.close()
    return target


def test_old_file_without_optional_table_reads_as_empty(tmp_path: Path, database: Path) -> None:
    old = old_format_copy(database, tmp_path / "old")
    before = raw_bytes(old)
    conn = open_read_only(old)
    try:
        assert all_coordinates(conn) == {}
        assert len(all_chains(conn)) == 6
    finally:
        conn.close()
    assert raw_bytes(old) == before
    tables = sqlite3.connect(old / "parts.db")
    try:
        names = {row[0] for row in tables.execute("SELECT name FROM sqlite_master")}
    finally:
        tables.close()
    assert "grid_positions" not in names


# --- the web view uses it for every request ---------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_web_on_empty_directory_is_503_and_creates_nothing(tmp_path: Path, url: str) -> None:
    client = create_app(tmp_path).test_client()
    response = client.get(url)
    assert response.status_code == 503
    assert str(tmp_path) in response.get_data(as_text=True)
    assert "parts.db is missing" in response.get_data(as_text=True)
    assert os.listdir(tmp_path) == []


def test_web_503_json_names_the_directory(tmp_path: Path) -> None:
    data = create_app(tmp_path).test_client().get("/api/chains").get_json()
    assert data == {
        "error": f"no casman database in {tmp_path}: parts.db is missing; set "
        "CASMAN_DATABASE_DIR to the directory that holds parts.db and assembled_casm.db",
        "status": 503,
    }


def test_web_on_missing_directory_is_503_and_creates_nothing(tmp_path: Path) -> None:
    client = create_app(tmp_path / "missing").test_client()
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 503
        assert str(tmp_path / "missing") in response.get_data(as_text=True)
    assert not (tmp_path / "missing").exists()


def test_web_with_only_parts_db_does_not_create_the_other(tmp_path: Path, database: Path) -> None:
    (tmp_path / "parts.db").write_bytes((database / "parts.db").read_bytes())
    data = create_app(tmp_path).test_client().get("/api/snap").get_json()
    assert data["status"] == 503 and "assembled_casm.db is missing" in data["error"]
    assert sorted(os.listdir(tmp_path)) == ["parts.db"]


def test_web_does_not_migrate_an_old_database(tmp_path: Path, database: Path) -> None:
    """The writer's opener would add grid_positions and set user_version: a write."""
    old = old_format_copy(database, tmp_path / "old")
    before = raw_bytes(old)
    client = create_app(old).test_client()
    for url in PAGES:
        assert client.get(url).status_code == 200, url
    assert client.get("/api/grid").get_json()["geometry"]["source"] == "grid_positions"
    assert raw_bytes(old) == before


def test_web_answers_while_a_writer_holds_the_lock(database: Path) -> None:
    writer = open_databases(database)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO parts (part_number, part_type) VALUES ('ANT09998P1', 'ANT')")
        client = create_app(database).test_client()
        for url in PAGES:
            assert client.get(url).status_code == 200, url
        writer.execute("ROLLBACK")
    finally:
        writer.close()
