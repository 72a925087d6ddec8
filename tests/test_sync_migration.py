"""Databases and stores written before change records: adopted with no lost row.

A casman 0.x database (rows, no records) gets genesis records on its first write or sync;
two sites holding copies of one such database derive the same records and agree. A store
written by the round-2 engine (``backups/{db}/HEAD.json`` and whole-file versions) is
converted by the first site that syncs with it: the newest versions' rows become records,
united with the site's own, and the new layout is founded beside the old objects.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from casman.db.schema import ASSEMBLY_DB, PARTS_DB, TABLES
from tests.test_real_processes import _casman_exe


def _old_database(directory: Path, parts: list[str], links: list[tuple[str, str, str]]) -> None:
    """A database as casman 0.x wrote it: the spec's tables, no record tables."""
    directory.mkdir(parents=True, exist_ok=True)
    for db_name in (PARTS_DB, ASSEMBLY_DB):
        conn = sqlite3.connect(directory / db_name)
        for ddl in TABLES[db_name].values():
            conn.execute(ddl)
        conn.execute("PRAGMA user_version = 1")
        conn.commit()
        conn.close()
    conn = sqlite3.connect(directory / PARTS_DB)
    for number in parts:
        kind = {"ANT": "ANTENNA", "LNA": "LNA", "CXS": "COAXSHORT"}[number[:3]]
        conn.execute(
            "INSERT INTO parts (part_number, part_type, polarization, date_created,"
            " date_modified) VALUES (?, ?, 'P1', '2026-01-01T00:00:00Z', NULL)",
            (number, kind),
        )
    conn.commit()
    conn.close()
    conn = sqlite3.connect(directory / ASSEMBLY_DB)
    for n, (source, target, status) in enumerate(links):
        stamp = f"2026-01-02T00:00:{n:02d}Z"
        conn.execute(
            "INSERT INTO assembly (part_number, part_type, polarization, scan_time,"
            " connected_to, connected_to_type, connected_polarization, connected_scan_time,"
            " connection_status) VALUES (?, 'ANTENNA', 'P1', ?, ?, 'LNA', 'P1', ?, ?)",
            (source, stamp, target, stamp, status),
        )
    conn.commit()
    conn.close()


def _env(tmp_path: Path, name: str) -> dict[str, str]:
    return {
        **os.environ,
        "CASMAN_DATABASE_DIR": str(tmp_path / name),
        "CASMAN_LOCAL_PATH": str(tmp_path / "store"),
        "CASMAN_SYNC_BACKEND": "local",
        "CASMAN_AUTO_BACKUP": "false",
        "HOME": str(tmp_path / "home"),
    }


def _casman(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*_casman_exe(), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def _state(env: dict[str, str]) -> tuple[set[str], list[tuple[str, str]]]:
    parts = {p["part_number"] for p in json.loads(_casman(env, "parts", "list", "--json").stdout)}
    conn = sqlite3.connect(Path(env["CASMAN_DATABASE_DIR"]) / ASSEMBLY_DB)
    events = conn.execute(
        "SELECT part_number, connection_status FROM assembly ORDER BY id"
    ).fetchall()
    conn.close()
    return parts, events


def test_two_sites_with_copies_of_an_old_database_agree_and_lose_no_row(tmp_path: Path) -> None:
    links = [
        ("ANT00001P1", "LNA00001P1", "connected"),
        ("ANT00001P1", "LNA00001P1", "disconnected"),
        ("ANT00002P1", "LNA00002P1", "connected"),
    ]
    _old_database(tmp_path / "a", ["ANT00001P1", "ANT00002P1", "LNA00001P1", "LNA00002P1"], links)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    a, b = _env(tmp_path, "a"), _env(tmp_path, "b")
    assert _casman(a, "sync", "sync").returncode == 0
    done = _casman(b, "sync", "sync")  # the same rows: the same array, no join needed
    assert done.returncode == 0, done.stderr
    assert _casman(b, "parts", "add", "CXS", "1", "1").returncode == 0
    assert _casman(b, "sync", "sync").returncode == 0
    assert _casman(a, "sync", "sync").returncode == 0
    parts_a, events_a = _state(a)
    assert parts_a == _state(b)[0] >= {"ANT00001P1", "ANT00002P1", "LNA00001P1", "LNA00002P1"}
    assert "CXS00001P1" in parts_a
    assert len(events_a) == 3 and events_a == _state(b)[1]  # no event doubled, none lost


def _round2_store(store: Path, source: Path) -> None:
    """A store as the round-2 engine left it: versions plus HEAD.json per database,
    written through the ``local`` backend as that engine did."""
    import dataclasses

    from casman.config import load_config
    from casman.sync.session import open_session

    config = load_config(environ={**os.environ, "CASMAN_LOCAL_PATH": str(store)})
    config = dataclasses.replace(config, sync=dataclasses.replace(config.sync, enabled=True))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CASMAN_LOCAL_PATH", str(store))
        storage = open_session(config, "local").storage
    for db_name in (PARTS_DB, ASSEMBLY_DB):
        body = (source / db_name).read_bytes()
        key = f"backups/{db_name}/20261101_120000_{db_name}"
        storage.put(key, body, {"casman-sha256": hashlib.sha256(body).hexdigest()})
        head = {
            "database": db_name,
            "versions": [
                {"key": key, "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
            ],
        }
        storage.put(f"backups/{db_name}/HEAD.json", json.dumps(head).encode(), {})


def test_a_round2_store_is_converted_with_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    merged = tmp_path / "merged"
    _old_database(
        merged,
        ["ANT00001P1", "LNA00001P1", "ANT00002P1"],
        [("ANT00001P1", "LNA00001P1", "connected")],
    )
    _round2_store(tmp_path / "store", merged)
    # site a synced with that store (the same rows) and scanned one more part since
    shutil.copytree(merged, tmp_path / "a")
    a = _env(tmp_path, "a")
    assert _casman(a, "parts", "add", "LNA", "1", "1").returncode == 0
    done = _casman(a, "sync", "sync")
    assert done.returncode == 0, done.stderr
    # site b was offline through the upgrade; its copy is older (no ANT00002P1)
    _old_database(tmp_path / "b", ["ANT00001P1", "LNA00001P1"], [])
    b = _env(tmp_path, "b")
    done = _casman(b, "sync", "sync")
    assert done.returncode == 0, done.stderr  # adopted rows + a converted store: it belongs
    assert _casman(a, "sync", "sync").returncode == 0
    parts_a, events_a = _state(a)
    parts_b, events_b = _state(b)
    assert parts_a == parts_b == {"ANT00001P1", "LNA00001P1", "ANT00002P1", "LNA00002P1"}
    assert events_a == events_b == [("ANT00001P1", "connected")]
    assert (tmp_path / "store" / "backups" / PARTS_DB / "HEAD.json").exists()  # left alone
