"""The chains page in pages, and the app's chain index that always matches the log.

The listing of every chain is paginated (``?page=``, ``?per_page=``); counts are over all
chains. The whole-array views read a chain index the app keeps per database state
(:mod:`casman.web.chain_cache`): these tests change the databases in every way a site
does (a scan, a write from the ``sqlite3`` shell, a restore's row copy) and check that the
very next request shows it, and that an unchanged database is not recomputed.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casman.db.assembly import connect, disconnect
from casman.db.chains import all_chains
from casman.db.connection import open_databases, write_transaction
from casman.db.parts import add_parts
from casman.domain.connections import parse_part
from casman.domain.parts import CHAIN_ORDER
from casman.web import views
from casman.web.app import create_app
from casman.web.chain_cache import ChainIndexCache
from tests.web_testdata import build_web_database

HEADS = ["ANT00001P1", "ANT00001P2", "ANT00002P1", "ANT00002P2", "ANT00003P1", "LNA00003P2"]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return build_web_database(tmp_path / "database")


@pytest.fixture
def app(database: Path) -> Flask:
    return create_app(database)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get_json(client: FlaskClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, (url, response.data[:300])
    return response.get_json()


def builds(app: Flask) -> int:
    cache: ChainIndexCache = app.extensions["casman_chain_index"]
    return cache.builds


# --- pages ---------------------------------------------------------------------------------


def test_pages_split_the_chains_in_head_order(client: FlaskClient) -> None:
    seen = []
    for page in (1, 2, 3):
        data = get_json(client, f"/api/chains?per_page=2&page={page}")
        assert (data["page"], data["per_page"], data["pages"]) == (page, 2, 3)
        assert (data["count"], data["complete"], data["with_problems"]) == (6, 4, 3)
        seen += [chain["parts"][0] for chain in data["chains"]]
    assert seen == HEADS


def test_default_page_holds_up_to_fifty(client: FlaskClient) -> None:
    data = get_json(client, "/api/chains")
    assert (data["page"], data["per_page"], data["pages"]) == (1, views.DEFAULT_PER_PAGE, 1)
    assert [chain["parts"][0] for chain in data["chains"]] == HEADS
    assert 'id="pager-top"' not in client.get("/chains").get_data(as_text=True)


def test_search_results_are_paginated_too(client: FlaskClient) -> None:
    data = get_json(client, "/api/chains?q=ANT00001&per_page=1&page=2")
    assert data["count"] == 2 and data["pages"] == 2
    assert [chain["parts"][0] for chain in data["chains"]] == ["ANT00001P2"]


def test_html_pager_links_keep_the_search_and_page_size(client: FlaskClient) -> None:
    html = client.get("/chains?per_page=2&page=2").get_data(as_text=True)
    assert 'data-page="2" data-pages="3"' in html
    assert 'rel="prev" href="/chains?page=1&amp;per_page=2"' in html
    assert 'rel="next" href="/chains?page=3&amp;per_page=2"' in html
    assert "Showing 3–4." in html
    heads = re.findall(r'data-chain-head="(\w+)"', html)
    assert heads == HEADS[2:4]
    html = client.get("/chains?q=ANT00001&per_page=1").get_data(as_text=True)
    assert 'rel="next" href="/chains?q=ANT00001&amp;page=2&amp;per_page=1"' in html
    assert 'rel="prev"' not in html


@pytest.mark.parametrize(
    ("query", "status", "needle"),
    [
        ("page=0", 400, "page '0'"),
        ("page=-1", 400, "page '-1'"),
        ("page=two", 400, "page 'two'"),
        ("page=99999999999999999999", 400, "from 1 to 1000000"),
        ("per_page=501", 400, "per_page '501'"),
        ("per_page=0", 400, "per_page"),
        ("page=2", 404, "past the last page"),
        ("q=ANT00001&page=3&per_page=1", 404, "past the last page"),
    ],
)
def test_bad_pages_are_refused_with_one_line(
    client: FlaskClient, query: str, status: int, needle: str
) -> None:
    data = get_json(client, f"/api/chains?{query}", status)
    assert needle in data["error"] and "\n" not in data["error"]
    assert client.get(f"/chains?{query}").status_code == status


def test_an_empty_database_has_one_empty_page(tmp_path: Path) -> None:
    open_databases(tmp_path / "empty").close()
    data = get_json(create_app(tmp_path / "empty").test_client(), "/api/chains")
    assert (data["count"], data["pages"], data["chains"]) == (0, 1, [])


# --- the chain index follows every change ----------------------------------------------------


def test_an_unchanged_database_is_indexed_once(app: Flask, client: FlaskClient) -> None:
    for url in ("/", "/chains", "/api/chains?page=1&per_page=2", "/snap", "/api/snap", "/"):
        assert client.get(url).status_code == 200
    assert builds(app) == 1


def test_a_scan_shows_on_the_next_request(app: Flask, client: FlaskClient, database: Path) -> None:
    before = get_json(client, "/?format=json")
    conn = open_databases(database)
    try:
        for part_type in CHAIN_ORDER[:-1]:
            add_parts(conn, part_type, 1, "P1")
        connect(conn, parse_part("ANT00004P1"), parse_part("LNA00004P1"))
    finally:
        conn.close()
    after = get_json(client, "/?format=json")
    assert after["chains"] == before["chains"] + 1
    assert "ANT00004P1" in [c["parts"][0] for c in get_json(client, "/api/chains")["chains"]]
    conn = open_databases(database)
    try:
        disconnect(conn, parse_part("BAC00001P1"), parse_part("SNAP1A05"))
    finally:
        conn.close()
    data = get_json(client, "/api/chains")
    assert data["complete"] == 3
    ports = {p["snap_port_name"]: p for b in _boards(get_json(client, "/api/snap")) for p in b}
    assert ports["SNAP1A05"]["connected_from"] is None
    assert builds(app) == 3


def _boards(snap: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return [board["ports"] for chassis in snap["chassis"] for board in chassis["boards"]]


def test_a_write_from_the_sqlite3_shell_shows_too(client: FlaskClient, database: Path) -> None:
    get_json(client, "/")
    raw = sqlite3.connect(database / "assembled_casm.db")
    with raw:
        raw.execute(
            "INSERT INTO assembly (part_number, scan_time, connected_to, connection_status)"
            " VALUES ('ANT00003P2', '2030-01-01T00:00:00Z', 'LNA00003P2', 'connected')"
        )
    raw.close()
    heads = [chain["parts"][0] for chain in get_json(client, "/api/chains")["chains"]]
    assert "ANT00003P2" in heads and "LNA00003P2" not in heads


def test_a_restore_that_replaces_every_row_shows(client: FlaskClient, database: Path) -> None:
    """The restore's way: delete and re-insert the rows in one transaction (same count)."""
    get_json(client, "/api/chains")
    conn = open_databases(database)
    try:
        rows = conn.execute("SELECT * FROM asm.assembly ORDER BY id").fetchall()
        with write_transaction(conn):
            conn.execute("DELETE FROM asm.assembly")
            conn.executemany(
                "INSERT INTO asm.assembly VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*row[:9], "disconnected") for row in rows],
            )
    finally:
        conn.close()
    data = get_json(client, "/api/chains")
    assert data["count"] == 0 and data["chains"] == []
    assert get_json(client, "/?format=json")["chains"] == 0


def test_a_board_loaded_later_clears_its_problem(client: FlaskClient, database: Path) -> None:
    assert get_json(client, "/?format=json")["chains_with_problems"] == 3
    conn = open_databases(database)
    try:
        with write_transaction(conn):
            conn.execute(
                "INSERT INTO snap_boards (chassis, slot, serial_number, mac_address, ip_address,"
                " feng_id, date_added) VALUES (4, 'K', '999', '00:00:00:00:00:99',"
                " '10.0.0.99', 43, '2025-01-01T00:00:00Z')"
            )
    finally:
        conn.close()
    assert get_json(client, "/?format=json")["chains_with_problems"] == 2


def test_the_index_holds_no_lock_between_requests(client: FlaskClient, database: Path) -> None:
    get_json(client, "/")
    conn = open_databases(database)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no reader holds a snapshot back
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        assert busy == 0
    finally:
        conn.close()


def test_index_listing_is_every_chain(client: FlaskClient, database: Path) -> None:
    conn = open_databases(database)
    try:
        expected = [chain.parts for chain in all_chains(conn)]
        data = views.chains_page(conn, None)  # without the app's index: computed directly
    finally:
        conn.close()
    assert [tuple(c["parts"]) for c in get_json(client, "/api/chains")["chains"]] == expected
    assert [tuple(c["parts"]) for c in data["chains"]] == expected


def test_snap_page_from_the_index_is_the_walk_from_each_port(
    client: FlaskClient, database: Path
) -> None:
    conn = open_databases(database)
    try:
        walked = views.snap_page(conn)  # every port walked through the indexes
    finally:
        conn.close()
    assert get_json(client, "/api/snap") == walked


def test_the_refresher_rebuilds_after_a_change_before_any_request(tmp_path: Path) -> None:
    """With the refresher running, a page after a scan finds the index already built."""
    from casman.domain.parts import PartType

    writer = open_databases(tmp_path)
    add_parts(writer, PartType.ANTENNA, 2, "P1")
    add_parts(writer, PartType.LNA, 2, "P1")
    cache = ChainIndexCache(tmp_path)
    refresher = cache.start_refresher(interval=0.05)
    try:
        wait_until(lambda: cache.builds >= 1)
        connect(writer, parse_part("ANT00001P1"), parse_part("LNA00001P1"))
        before = cache.builds
        wait_until(lambda: cache.builds > before)  # rebuilt by the refresher, no request
        refresher.stop()
        built = cache.builds
        reader = open_databases(tmp_path)
        try:
            assert len(cache.get(reader)) == 1
            assert cache.builds == built  # the request found it warm
        finally:
            reader.close()
    finally:
        refresher.stop()
        cache.close_watcher()
        writer.close()


def wait_until(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    """Return as soon as ``condition()`` holds; the deadline only ends a broken test."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the refresher never rebuilt the index"
        time.sleep(0.02)
