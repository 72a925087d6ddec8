"""The web views over a real database: every page as HTML and JSON, searches, details, errors.

The database holds the deployed CSVs and a few chains (see ``tests/web_testdata.py``), so
the expected serials, feng ids and packet indices are those of the real boards.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casman.db.connection import open_databases
from casman.db.lookups import board_report
from casman.domain.grid import ArrayGeometry
from casman.domain.snap import parse_board
from casman.web.app import create_app
from tests.conftest import Casman
from tests.web_testdata import build_web_database

PAGES = ("/", "/chains", "/grid", "/snap")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_web_database(tmp_path_factory.mktemp("web") / "database")


@pytest.fixture(scope="module")
def app(database: Path) -> Flask:
    return create_app(database)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get_json(client: FlaskClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, (url, response.data[:300])
    assert response.is_json, url
    return response.get_json()


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_html_linked_from_home(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for page in ("/chains", "/grid", "/snap"):
        assert f'href="{page}"' in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from elsewhere


@pytest.mark.parametrize("url", PAGES)
def test_every_page_answers_json(client: FlaskClient, url: str) -> None:
    data = get_json(client, f"{url}?format=json")
    assert isinstance(data, dict)


@pytest.mark.parametrize(
    ("page", "api"), [("/chains", "/api/chains"), ("/grid", "/api/grid"), ("/snap", "/api/snap")]
)
def test_api_matches_page_json(client: FlaskClient, page: str, api: str) -> None:
    assert get_json(client, f"{page}?format=json") == get_json(client, api)


def test_static_files_are_served(client: FlaskClient) -> None:
    for name in ("style.css", "panel.js", "grid.js", "snap.js"):
        assert client.get(f"/static/{name}").status_code == 200


def test_home_counts(client: FlaskClient) -> None:
    data = get_json(client, "/?format=json")
    assert data == {
        "chains": 6,
        "complete_chains": 4,
        "chains_with_problems": 3,
        "assigned_antennas": 3,
        "grid_positions": 258,
        "snap_boards": 39,
        "open_conflicts": [],
    }


def _chain(data: dict[str, Any], head: str) -> dict[str, Any]:
    return next(chain for chain in data["chains"] if chain["parts"][0] == head)


def test_chains_show_snap_port_details_inline(client: FlaskClient) -> None:
    data = get_json(client, "/api/chains")
    assert data["count"] == 6
    chain = _chain(data, "ANT00001P1")
    assert chain["parts"][-1] == "SNAP010105"
    assert chain["snap_port_name"] == "SNAP1A05"
    assert chain["board"]["serial_number"] == "152"
    assert chain["board"]["feng_id"] == 0
    assert chain["packet_index"] == 5
    html = client.get("/chains").get_data(as_text=True)
    item = re.search(
        r'<li class="chain complete"\s+data-chain-head="ANT00001P1".*?</li>\s*</?', html, re.S
    )
    assert item is not None
    for text in ("SNAP1A05", "152", "00:29:c4:e8:18:05", "192.168.120.53", 'data-packet-index="5"'):
        assert text in item.group(0)


def test_incomplete_and_rule_breaking_chains_are_highlighted(client: FlaskClient) -> None:
    data = get_json(client, "/api/chains")
    incomplete = _chain(data, "ANT00002P1")
    assert not incomplete["complete"]
    assert any("incomplete" in problem for problem in incomplete["problems"])
    legacy = _chain(data, "LNA00003P2")
    assert any("COAXSHORT" in problem for problem in legacy["problems"])
    unconfigured = _chain(data, "ANT00002P2")
    assert any("no SNAP board configured at SNAP4K" in p for p in unconfigured["problems"])
    html = client.get("/chains").get_data(as_text=True)
    assert 'class="chain incomplete problem"\n      data-chain-head="ANT00002P1"' in html
    assert html.count('<ul class="problems">') == 3


@pytest.mark.parametrize(
    ("query", "heads"),
    [
        ("LNA00001P2", ["ANT00001P2"]),
        ("lna00001", ["ANT00001P1", "ANT00001P2"]),
        ("ANT00002", ["ANT00002P1", "ANT00002P2"]),
        ("SNAP1A05", ["ANT00001P1"]),
        ("SNAP010105", ["ANT00001P1"]),
        ("SNAP4F", ["ANT00003P1"]),
        (" cxl00003p2 ", ["LNA00003P2"]),
    ],
)
def test_chain_search_by_any_part_number(client: FlaskClient, query: str, heads: list[str]) -> None:
    data = get_json(client, f"/api/chains?q={query}")
    assert sorted(chain["parts"][0] for chain in data["chains"]) == heads
    html = client.get(f"/chains?q={query}").get_data(as_text=True)
    for head in heads:
        assert f'data-chain-head="{head}"' in html


def test_chain_search_for_a_known_but_unconnected_part(client: FlaskClient) -> None:
    data = get_json(client, "/api/chains?q=BAC00003P2")
    assert data["chains"] == []
    assert data["connected"] is False
    assert "not connected" in data["message"]
    assert data["board"] is None


def test_chain_search_without_query_has_no_connected_state(client: FlaskClient) -> None:
    data = get_json(client, "/api/chains")
    assert data["connected"] is None and data["board"] is None and data["message"] is None


def _board_html(html: str) -> dict[str, str]:
    """Port name → data-connected of the board listing on the chains page."""
    return dict(re.findall(r'data-port-name="(SNAP\w+)" data-connected="(yes|no)"', html))


def test_configured_board_without_chains_is_not_connected_not_404(client: FlaskClient) -> None:
    data = get_json(client, "/api/chains?q=SNAP1B")
    assert data["chains"] == [] and data["count"] == 0
    assert data["connected"] is False
    assert data["message"] == "board SNAP1B is configured and none of its 12 ports is connected"
    board = data["board"]
    assert board["board"] == "SNAP1B" and board["configured"] is True
    assert board["config"]["serial_number"] == "148"
    assert board["connected_ports"] == 0
    assert [port["snap_port_name"] for port in board["ports"]] == [
        f"SNAP1B{n:02d}" for n in range(12)
    ]
    assert all(port["connected"] is False for port in board["ports"])
    # SNAP1B03 was connected once and disconnected: listed like the others, not connected
    assert board["ports"][3]["connected_from"] is None
    response = client.get("/chains?q=snap1b")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="chains-message"\n  data-state="not-connected"' in html
    assert "none of its 12 ports is connected" in html
    assert 'id="board-ports" data-board="SNAP1B"' in html
    assert _board_html(html) == {f"SNAP1B{n:02d}": "no" for n in range(12)}


def test_board_search_lists_which_ports_are_connected(client: FlaskClient) -> None:
    data = get_json(client, "/api/chains?q=SNAP1A")
    assert data["connected"] is True and data["message"] is None
    assert [chain["parts"][0] for chain in data["chains"]] == ["ANT00001P1"]
    board = data["board"]
    assert board["connected_ports"] == 1
    assert [port["port"] for port in board["ports"] if port["connected"]] == [5]
    assert board["ports"][5]["connected_from"] == "BAC00001P1"
    assert board["ports"][5]["packet_index"] == 5
    html = client.get("/chains?q=SNAP1A").get_data(as_text=True)
    ports = _board_html(html)
    assert ports["SNAP1A05"] == "yes"
    assert [name for name, state in ports.items() if state == "yes"] == ["SNAP1A05"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("SNAP1A04", "SNAP1A04"),  # a valid port never used: no parts row at all
        ("SNAP010104", "SNAP1A04"),  # the same in canonical form
        ("snap1b03", "SNAP1B03"),  # used once, disconnected: has a parts row
    ],
)
def test_unconnected_snap_port_is_not_connected_not_404(
    client: FlaskClient, query: str, name: str
) -> None:
    data = get_json(client, f"/api/chains?q={query}")
    assert data["chains"] == []
    assert data["connected"] is False
    assert data["message"] == f"{name} is not connected to anything"
    assert data["snap_port"] == name
    assert data["board"]["board"] == name[:6]
    port = next(p for p in data["board"]["ports"] if p["snap_port_name"] == name)
    assert port["connected"] is False
    response = client.get(f"/chains?q={query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-state="not-connected"' in html
    assert re.search(rf'class="port-row free match"\s+data-port-name="{name}"', html)


def test_port_of_an_unconfigured_board_says_so(client: FlaskClient) -> None:
    data = get_json(client, "/api/chains?q=SNAP4J03")
    assert data["connected"] is False
    assert (
        data["message"] == "SNAP4J03 is not connected to anything; board SNAP4J is not configured"
    )
    assert data["board"]["configured"] is False


def test_unconfigured_board_with_a_chain_is_listed(client: FlaskClient) -> None:
    data = get_json(client, "/api/chains?q=SNAP4K")
    assert [chain["parts"][0] for chain in data["chains"]] == ["ANT00002P2"]
    assert data["board"]["configured"] is False
    assert [port["port"] for port in data["board"]["ports"] if port["connected"]] == [11]


def test_grid_layout_rows_north_to_south(client: FlaskClient) -> None:
    data = get_json(client, "/api/grid")
    labels = [row["label"] for row in data["rows"]]
    assert labels[0] == "N021" and labels[21] == "C000" and labels[-1] == "S021"
    assert len(labels) == 43
    assert data["columns"] == ["E01", "E02", "E03", "E04", "E05", "E06"]
    assert data["geometry"]["source"] == "grid_positions"
    cells = {cell["grid_code"]: cell for row in data["rows"] for cell in row["cells"]}
    assert len(cells) == 258
    assert cells["CN002E03"]["antenna_number"] == "ANT00001"
    assert cells["CN002E03"]["connected"] == ["P1", "P2"]
    assert cells["CC000E01"]["connected"] == ["P2"]
    assert cells["CS021E06"]["antenna_number"] == "ANT00003"
    assert data["assigned"] == 3
    html = client.get("/grid").get_data(as_text=True)
    assert 'data-grid-code="CN002E03" data-antenna="ANT00001"' in html
    assert 'id="detail-panel"' in html


def test_grid_geometry_from_config_wins(database: Path) -> None:
    client = create_app(database, geometry=ArrayGeometry(2, 3, 0, 7)).test_client()
    data = get_json(client, "/api/grid")
    assert [row["label"] for row in data["rows"]] == [
        "N002",
        "N001",
        "C000",
        "S001",
        "S002",
        "S003",
    ]
    assert data["columns"][0] == "E00" and data["columns"][-1] == "E07"
    assert data["geometry"]["source"] == "config"


def test_grid_defaults_without_positions(tmp_path: Path) -> None:
    open_databases(tmp_path / "empty").close()
    data = get_json(create_app(tmp_path / "empty").test_client(), "/api/grid")
    assert data["geometry"] == {
        "source": "default",
        "north_rows": 21,
        "south_rows": 21,
        "first_column": 1,
        "last_column": 6,
    }
    assert data["assigned"] == 0


@pytest.mark.parametrize(
    ("query", "grid_code", "kind"),
    [
        ("ANT00001", "CN002E03", "antenna"),
        ("ant00003p1", "CS021E06", "antenna"),
        ("cn002e03", "CN002E03", "grid_code"),
        ("5", "CN002E03", "packet_index"),
        ("175", "CN002E03", "packet_index"),
        ("60", "CS021E06", "packet_index"),
    ],
)
def test_grid_search(client: FlaskClient, query: str, grid_code: str, kind: str) -> None:
    data = get_json(client, f"/api/grid?q={query}")
    assert data["match"]["grid_code"] == grid_code
    assert data["match"]["kind"] == kind
    matched = [c["grid_code"] for row in data["rows"] for c in row["cells"] if c["match"]]
    assert matched == [grid_code]
    html = client.get(f"/grid?q={query}").get_data(as_text=True)
    assert f'data-selected="{grid_code}"' in html


def test_packet_index_search_goes_through_boards_and_chain(client: FlaskClient) -> None:
    match = get_json(client, "/api/grid?q=60")["match"]
    assert match == {
        "kind": "packet_index",
        "packet_index": 60,
        "snap_port": "SNAP040600",
        "snap_port_name": "SNAP4F00",
        "board": "SNAP4F",
        "antenna": "ANT00003P1",
        "grid_code": "CS021E06",
        "kernel_index": None,  # the kernel does not map CS021E06
    }


def test_antenna_detail_by_grid_code(client: FlaskClient) -> None:
    report = get_json(client, "/api/antenna/CN002E03")
    assert report["antenna_number"] == "ANT00001"
    assert report["grid_code"] == "CN002E03"
    assert report["coordinates"]["latitude"] == pytest.approx(37.234294999)
    p1, p2 = report["signals"]["P1"], report["signals"]["P2"]
    assert (
        p1["snap_port_name"],
        p1["board"]["serial_number"],
        p1["board"]["feng_id"],
        p1["packet_index"],
    ) == ("SNAP1A05", "152", 0, 5)
    assert p1["board"]["mac_address"] == "00:29:c4:e8:18:05"
    assert p1["board"]["ip_address"] == "192.168.120.53"
    assert (
        p2["snap_port_name"],
        p2["board"]["serial_number"],
        p2["board"]["feng_id"],
        p2["packet_index"],
    ) == ("SNAP2C07", "143", 14, 175)


def test_antenna_detail_by_number_and_empty_position(client: FlaskClient) -> None:
    assert get_json(client, "/api/antenna/ANT00001P2") == get_json(client, "/api/antenna/CN002E03")
    empty = get_json(client, "/api/antenna/CN001E01")
    assert empty["antenna_number"] is None
    assert empty["coordinates"]["longitude"] == pytest.approx(-118.283416)
    unplaced = get_json(client, "/api/antenna/ANT00003P2")
    assert unplaced["grid_code"] == "CS021E06"


def test_board_api_is_board_report(client: FlaskClient, database: Path) -> None:
    data = get_json(client, "/api/board/snap1a")
    conn = open_databases(database)
    try:
        assert data == board_report(conn, parse_board("SNAP1A"))
    finally:
        conn.close()
    assert data["config"]["serial_number"] == "152"
    assert data["ports"][5]["antenna"] == "ANT00001P1"
    assert data["ports"][5]["grid_code"] == "CN002E03"
    assert data["ports"][5]["packet_index"] == 5


def test_snap_page_has_every_board_and_port(client: FlaskClient, database: Path) -> None:
    data = get_json(client, "/api/snap")
    boards = [board for chassis in data["chassis"] for board in chassis["boards"]]
    assert len(boards) == 44 and all(len(board["ports"]) == 12 for board in boards)
    assert data["configured"] == 39 and data["connected_ports"] == 4
    by_name = {board["board"]: board for board in boards}
    conn = open_databases(database)
    try:
        for name in ("SNAP1A", "SNAP2C", "SNAP4F", "SNAP4K"):
            report = board_report(conn, parse_board(name))
            for page_port, api_port in zip(by_name[name]["ports"], report["ports"], strict=True):
                assert {k: page_port[k] for k in api_port} == api_port  # same answer as the CLI
    finally:
        conn.close()
    states = {p["snap_port_name"]: p["state"] for b in boards for p in b["ports"]}
    assert states["SNAP1A05"] == "P1" and states["SNAP2C07"] == "P2"
    assert states["SNAP4K11"] == "P2" and states["SNAP1A00"] == "empty"
    assert not by_name["SNAP4K"]["configured"]
    html = client.get("/snap").get_data(as_text=True)
    assert html.count('class="port ') == 528
    assert 'data-snap-port="SNAP1A05" data-board="SNAP1A" data-port="5"' in html
    assert 'id="snap-data"' in html


@pytest.mark.parametrize(
    ("url", "status", "needle"),
    [
        ("/api/antenna/CN002E3", 400, "not a grid code"),
        ("/api/antenna/XX002E03", 400, "array"),
        ("/api/antenna/ANT00099", 404, "does not exist"),
        ("/api/antenna/ANT1", 400, ""),
        ("/api/antenna/CN030E01", 404, "no coordinates"),
        ("/api/board/SNAP9Z", 400, "slot Z"),
        ("/api/board/SNAP5A", 400, "chassis"),
        ("/api/board/NOPE", 400, "not a SNAP board"),
        ("/api/board/SNAP4J", 404, "not configured"),
        ("/api/chains?q=XYZ", 400, ""),
        ("/api/chains?q=LNA00099P1", 404, "not known"),
        ("/api/chains?q=LNA00099", 404, "not known"),
        ("/api/chains?q=SNAP4J", 404, "not configured"),
        ("/api/chains?q=SNAP1Z", 400, "slot Z"),
        ("/api/chains?q=SNAP5A", 400, "chassis"),
        ("/api/chains?q=SNAP1A12", 400, "port 12"),
        ("/api/chains?q=SNAP1L04", 400, "slot L"),
        ("/api/chains?q=LNA00001P3", 400, ""),
        ("/api/grid?q=999", 400, "packet index 999"),
        ("/api/grid?q=528", 400, "out of range"),
        ("/api/grid?q=12", 404, "nothing is connected"),
        ("/api/grid?q=528000000000000000000000000", 400, ""),
        ("/api/grid?q=CN030E01", 404, "not a position"),
        ("/api/grid?q=CQ001E01", 400, ""),
        ("/api/grid?q=ANT00002P3", 400, ""),
        ("/api/grid?q=ANT00099", 404, "does not exist"),
        ("/api/grid?q=LNA00001P1", 400, "search by antenna"),
        ("/api/grid?q=" + "A" * 200, 400, "longer than"),
        ("/api/nothing", 404, ""),
    ],
)
def test_bad_requests_get_json_errors(
    client: FlaskClient, url: str, status: int, needle: str
) -> None:
    data = get_json(client, url, status)
    assert set(data) == {"error", "status"} and data["status"] == status
    assert needle in data["error"]
    assert "\n" not in data["error"] and "Traceback" not in data["error"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/grid?q=999", 400),
        ("/grid?q=CN002E3", 400),
        ("/grid?q=ANT00099", 404),
        ("/chains?q=XYZ", 400),
        ("/chains?q=LNA00099P1", 404),
        ("/chains?q=SNAP4J", 404),
        ("/chains?q=SNAP1A99", 400),
        ("/nowhere", 404),
        ("/chains?format=xml", 400),
    ],
)
def test_bad_requests_get_an_html_page(client: FlaskClient, url: str, status: int) -> None:
    response = client.get(url)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert f'data-status="{status}"' in html and 'id="error-message"' in html


def test_page_json_errors_use_format_json(client: FlaskClient) -> None:
    data = get_json(client, "/grid?q=999&format=json", 400)
    assert "999" in data["error"]


def test_post_is_refused_not_crashing(client: FlaskClient) -> None:
    assert client.post("/chains").status_code == 405
    assert client.post("/api/chains").get_json()["status"] == 405


def test_missing_database_directory_is_503_not_500(tmp_path: Path) -> None:
    client = create_app(tmp_path / "missing").test_client()
    assert client.get("/api/chains").status_code == 503
    assert client.get("/grid").status_code == 503
    assert not (tmp_path / "missing").exists()


def test_connections_are_closed_after_each_request(app: Flask, database: Path) -> None:
    with app.test_client() as client:
        client.get("/api/chains")
    # a writer can take the lock at once: nothing is left open or in a transaction
    conn = open_databases(database)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def test_pages_do_not_write(client: FlaskClient, database: Path) -> None:
    from tests.conftest import fingerprint

    before = fingerprint(database)
    for url in (*PAGES, "/api/antenna/CN002E03", "/api/board/SNAP1A", "/grid?q=5", "/nope"):
        client.get(url)
    assert fingerprint(database) == before


def test_json_link_keeps_the_search(client: FlaskClient) -> None:
    html = client.get("/grid?q=ANT00001").get_data(as_text=True)
    assert 'id="json-link" href="/grid?q=ANT00001&amp;format=json"' in html


def test_web_command_serves_threaded(casman: Casman, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(self: Flask, **kwargs: Any) -> None:
        seen.update(kwargs, database=self.config["CASMAN_DATABASE_DIR"])

    monkeypatch.setattr(Flask, "run", fake_run)
    casman.directory.mkdir()
    result = casman.ok("web", "--port", "8123")
    assert "http://127.0.0.1:8123/" in result.output
    assert seen["threaded"] is True and seen["port"] == 8123 and seen["host"] == "127.0.0.1"
    assert seen["database"] == casman.directory


def test_web_command_without_flask_says_how_to_install(
    casman: Casman, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "flask" else real(name, *a)
    )
    result = casman.fails("web")
    hint = "casman web needs the web extra: pip install 'casman[web]'"
    assert result.stderr.strip() == f"Error: {hint}"


def test_web_command_refuses_missing_database_dir(casman: Casman) -> None:
    assert "does not exist" in casman.fails("web").stderr


def test_grid_cells_carry_the_kernel_index(client: FlaskClient) -> None:
    data = get_json(client, "/api/grid")
    cells = {cell["grid_code"]: cell for row in data["rows"] for cell in row["cells"]}
    expected = {"CN021E01": 0, "CN021E06": 5, "CN020E01": 6, "CN001E01": 120, "CC000E01": 126}
    expected |= {"CC000E06": 131, "CS001E01": 132, "CS021E04": 255, "CN002E03": 116}
    assert {code: cells[code]["kernel_index"] for code in expected} == expected
    assert cells["CS021E05"]["kernel_index"] is None and cells["CS021E06"]["kernel_index"] is None
    assert sorted(c["kernel_index"] for c in cells.values() if c["kernel_index"] is not None) == (
        list(range(256))
    )
    html = client.get("/grid").get_data(as_text=True)
    assert 'data-grid-code="CN002E03" data-antenna="ANT00001" data-kernel-index="116"' in html
    assert 'data-grid-code="CS021E06" data-antenna="ANT00003"\n' in html  # no index: unmapped
    assert 'title="CS021E05 · no kernel index"' in html


@pytest.mark.parametrize(
    ("query", "grid_code", "antenna", "kernel_index"),
    [
        ("K116", "CN002E03", "ANT00001", 116),
        ("k0", "CN021E01", None, 0),
        ("K126", "CC000E01", "ANT00002", 126),
    ],
)
def test_grid_search_by_kernel_index(
    client: FlaskClient, query: str, grid_code: str, antenna: str | None, kernel_index: int
) -> None:
    match = get_json(client, f"/api/grid?q={query}")["match"]
    assert match == {
        "kind": "kernel_index",
        "grid_code": grid_code,
        "antenna": antenna,
        "kernel_index": kernel_index,
    }
    html = client.get(f"/grid?q={query}").get_data(as_text=True)
    assert f"Kernel index {kernel_index} is {grid_code}" in html


def test_every_grid_search_says_the_kernel_index(client: FlaskClient) -> None:
    assert get_json(client, "/api/grid?q=5")["match"]["kernel_index"] == 116
    assert get_json(client, "/api/grid?q=ANT00002")["match"]["kernel_index"] == 126
    assert get_json(client, "/api/grid?q=CS021E06")["match"]["kernel_index"] is None
    html = client.get("/grid?q=CS021E06").get_data(as_text=True)
    assert "No kernel index (not mapped)." in html
    assert "Kernel index 116." in client.get("/grid?q=5").get_data(as_text=True)


def test_unmapped_kernel_index_search_is_a_one_line_400(client: FlaskClient) -> None:
    body = get_json(client, "/api/grid?q=K256", status=400)
    assert body["error"] == "kernel index 256 is not mapped: array C numbers its positions 0–255"


def test_grid_kernel_follows_configured_geometry(database: Path) -> None:
    client = create_app(database, geometry=ArrayGeometry(2, 3, 0, 7)).test_client()
    data = get_json(client, "/api/grid")
    first = data["rows"][0]["cells"][0]
    assert (first["grid_code"], first["kernel_index"]) == ("CN002E00", 0)
    centre = next(row for row in data["rows"] if row["label"] == "C000")["cells"][0]
    assert centre["kernel_index"] == 16  # two rows of eight columns above it
