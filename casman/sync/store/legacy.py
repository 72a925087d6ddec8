"""Reading a store written by the round-2 engine (whole-file versions, one HEAD.json each).

Such a store has ``backups/{db}/HEAD.json`` listing verified versions, newest first, and no
``array.json``. Its newest versions hold what every site had merged into it; their rows
become genesis records (:func:`casman.db.records.genesis_records`: the same rows give the
same records at every site), which the converting site unites with its own before it
founds the new layout in the same store. The old objects are left as they are.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from pathlib import Path

from casman.db import records as record_store
from casman.db.connection import open_databases
from casman.db.schema import DATABASE_NAMES
from casman.domain.records import ChangeRecord
from casman.storage.errors import ObjectNotFoundError
from casman.storage.operations import Storage
from casman.sync.backup_keys import parse_backup_key
from casman.sync.errors import DamagedObjectError
from casman.sync.store.jsonio import load_json

MAX_HEAD_BYTES = 4 * 1024 * 1024
MAX_VERSION_BYTES = 2 * 1024 * 1024 * 1024


def legacy_head_key(db_name: str) -> str:
    return f"backups/{db_name}/HEAD.json"


def _newest(storage: Storage, db_name: str) -> tuple[str, str] | None:
    """(key, sha256) of the newest version the round-2 head lists, or None."""
    try:
        body, _ = storage.get(legacy_head_key(db_name), max_bytes=MAX_HEAD_BYTES)
    except ObjectNotFoundError:
        return None
    data = load_json(body, legacy_head_key(db_name))
    versions = data.get("versions") if isinstance(data, dict) else None
    if data.get("database") != db_name or not isinstance(versions, list):
        raise DamagedObjectError(f"{legacy_head_key(db_name)} is not a round-2 casman head")
    if not versions:
        return None
    newest = versions[0]
    if not isinstance(newest, dict):
        raise DamagedObjectError(f"{legacy_head_key(db_name)} lists a malformed version")
    key, sha = newest.get("key"), newest.get("sha256")
    if not isinstance(key, str) or not isinstance(sha, str):
        raise DamagedObjectError(f"{legacy_head_key(db_name)} lists a malformed version")
    if parse_backup_key(key).db_name != db_name:
        raise DamagedObjectError(f"{legacy_head_key(db_name)} lists another database's version")
    return key, sha


def legacy_records(storage: Storage) -> list[ChangeRecord] | None:
    """Genesis records of the round-2 store's newest versions; None if it is not one."""
    newest = {name: _newest(storage, name) for name in DATABASE_NAMES}
    if not any(newest.values()):
        return None
    with tempfile.TemporaryDirectory(prefix="casman-legacy-") as folder:
        directory = Path(folder)
        for db_name, found in newest.items():
            if found is None:
                continue
            key, sha = found
            body, _ = storage.get(key, max_bytes=MAX_VERSION_BYTES)
            if hashlib.sha256(body).hexdigest() != sha:
                raise DamagedObjectError(f"{key} does not match the SHA-256 its head names")
            (directory / db_name).write_bytes(body)
        try:
            conn = open_databases(directory)
        except sqlite3.DatabaseError as error:
            raise DamagedObjectError(f"a round-2 version is not readable: {error}") from None
        try:
            return record_store.genesis_records(conn)
        finally:
            conn.close()
