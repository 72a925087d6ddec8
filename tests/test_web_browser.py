"""The web views in a real browser: Debian's Chromium driven by Playwright, desktop and phone.

The app runs on 127.0.0.1 on a free port in a background thread; nothing is fetched from
the internet (the pages ship their own CSS and JS, and the Content-Security-Policy would
block anything else: a console error fails the test). Screenshots of every page land in
``test-artifacts/`` for a human to look at.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casman.web.app import create_app
from tests.conftest import REPO_ROOT
from tests.web_testdata import build_web_database

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
WAIT_MS = 120_000

pytestmark = [
    pytest.mark.slow,
    # Outside CI a missing browser is a skip; in CI (.ci/run installs it) it is a failure,
    # so a green CI always means the pages were checked in a real browser.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from werkzeug.serving import make_server

    database = build_web_database(tmp_path_factory.mktemp("browser") / "database")
    server = make_server("127.0.0.1", 0, create_app(database), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=60)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(params=["desktop", "phone"])
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A fresh page at desktop or phone size that fails the test on any console error."""
    viewport = DESKTOP if request.param == "desktop" else PHONE
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    # every wait is for a condition and ends when it holds; the deadline (Playwright's
    # default is 30 s) only ends a broken test, so it is generous for a busy machine
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.viewport_name = request.param
    tab.console_errors = errors
    yield tab
    context.close()
    assert errors == []


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.viewport_name}.png"), full_page=False)


def panel_field(page: Any, field: str, pol: str | None = None) -> str:
    scope = f'#detail-panel [data-pol="{pol}"] ' if pol else "#detail-panel "
    text: str = page.locator(f'{scope}[data-field="{field}"]').first.inner_text()
    return text


def no_horizontal_overflow(page: Any) -> bool:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    viewport: int = page.viewport_size["width"]
    return width <= viewport


@pytest.mark.parametrize("path", ["/", "/chains", "/grid", "/snap"])
def test_each_page_loads_and_fits(page: Any, base_url: str, path: str) -> None:
    response = page.goto(base_url + path)
    assert response.status == 200
    assert page.locator("nav a").count() == 3
    assert no_horizontal_overflow(page)
    shot(page, "home" if path == "/" else path.strip("/"))


def test_chains_highlight_problems(page: Any, base_url: str) -> None:
    page.goto(base_url + "/chains")
    complete = page.locator('li.chain[data-chain-head="ANT00001P1"]')
    assert "152" in complete.inner_text() and complete.get_attribute("data-packet-index") == "5"
    incomplete = page.locator('li.chain[data-chain-head="ANT00002P1"]')
    assert "incomplete" in (incomplete.get_attribute("class") or "")
    colour = incomplete.evaluate("n => getComputedStyle(n).borderLeftColor")
    assert colour == "rgb(201, 42, 42)"
    page.fill("#q", "SNAP4F00")
    page.press("#q", "Enter")
    page.wait_for_url("**/chains?q=SNAP4F00")
    assert page.locator("li.chain").count() == 1
    shot(page, "chains-search")


def test_grid_cell_opens_detail_panel(page: Any, base_url: str) -> None:
    page.goto(base_url + "/grid")
    assert page.locator("#detail-panel").is_hidden()
    cell = page.locator('[data-grid-code="CN002E03"]')
    assert "00001" in cell.inner_text()
    cell.click()
    panel = page.locator("#detail-panel")
    panel.wait_for(state="visible")
    page.wait_for_selector('#detail-panel [data-pol="P2"]')
    assert panel_field(page, "grid-code") == "CN002E03"
    assert panel_field(page, "antenna") == "ANT00001"
    assert panel_field(page, "latitude").startswith("37.2342")
    assert panel_field(page, "serial", "P1") == "152"
    assert panel_field(page, "feng-id", "P1") == "0"
    assert panel_field(page, "packet-index", "P1") == "5"
    assert panel_field(page, "mac", "P1") == "00:29:c4:e8:18:05"
    assert panel_field(page, "ip", "P1") == "192.168.120.53"
    assert panel_field(page, "snap-port", "P2").startswith("SNAP2C07")
    assert panel_field(page, "packet-index", "P2") == "175"
    shot(page, "grid-detail")
    page.click("#detail-close")
    assert panel.is_hidden()


def test_grid_empty_cell_and_packet_index_search(page: Any, base_url: str) -> None:
    page.goto(base_url + "/grid")
    page.locator('[data-grid-code="CN010E04"]').click()
    page.wait_for_selector("#detail-panel:not([hidden])")
    assert panel_field(page, "antenna") == "none assigned"
    page.goto(base_url + "/grid?q=60")
    assert page.locator("#grid-match").get_attribute("data-grid-code") == "CS021E06"
    page.wait_for_selector('#detail-panel [data-pol="P1"]')
    assert panel_field(page, "grid-code") == "CS021E06"
    assert panel_field(page, "antenna") == "ANT00003"
    assert panel_field(page, "packet-index", "P1") == "60"
    assert panel_field(page, "serial", "P1") == "084"
    shot(page, "grid-search")


def test_snap_port_opens_detail_panel(page: Any, base_url: str) -> None:
    page.goto(base_url + "/snap")
    port = page.locator('[data-snap-port="SNAP4F00"]')
    colour = port.evaluate("n => getComputedStyle(n).backgroundColor")
    assert colour == "rgb(28, 126, 214)"  # P1 blue
    empty = page.locator('[data-snap-port="SNAP4F01"]')
    assert empty.evaluate("n => getComputedStyle(n).backgroundColor") == "rgb(233, 236, 239)"
    port.scroll_into_view_if_needed()
    port.click()
    page.wait_for_selector("#detail-panel:not([hidden])")
    assert panel_field(page, "serial") == "084"
    assert panel_field(page, "feng-id") == "5"
    assert panel_field(page, "packet-index") == "60"
    assert panel_field(page, "antenna") == "ANT00003P1"
    assert panel_field(page, "grid-code") == "CS021E06"
    assert panel_field(page, "mac") == "00:00:00:00:00:39"
    assert panel_field(page, "ip") == "192.168.0.39"
    shot(page, "snap-detail")
    page.locator('[data-snap-port="SNAP2C07"]').click()
    assert panel_field(page, "antenna") == "ANT00001P2"
    assert panel_field(page, "packet-index") == "175"
    page.click('#detail-panel [data-field="grid-link"]')
    page.wait_for_url("**/grid?q=CN002E03")
    page.wait_for_selector('#detail-panel [data-pol="P2"]')
    assert panel_field(page, "grid-code") == "CN002E03"


def test_error_page_in_browser(page: Any, base_url: str) -> None:
    response = page.goto(base_url + "/grid?q=999")
    assert response.status == 400
    assert "packet index 999" in page.locator("#error-message").inner_text()
    shot(page, "error")
    page.console_errors.clear()  # the browser logs the 400 itself; that is the point here


def test_chains_board_search_shows_ports_not_connected(page: Any, base_url: str) -> None:
    response = page.goto(base_url + "/chains?q=SNAP1B")
    assert response.status == 200
    message = page.locator("#chains-message")
    assert message.get_attribute("data-state") == "not-connected"
    assert "none of its 12 ports is connected" in message.inner_text()
    ports = page.locator("#board-ports li.port-row")
    assert ports.count() == 12
    assert page.locator('#board-ports li[data-connected="yes"]').count() == 0
    assert no_horizontal_overflow(page)
    shot(page, "chains-board-not-connected")
    page.goto(base_url + "/chains?q=SNAP1A04")
    match = page.locator('#board-ports li.match[data-port-name="SNAP1A04"]')
    assert match.count() == 1 and "not connected" in match.inner_text()
    connected = page.locator('#board-ports li[data-port-name="SNAP1A05"]')
    assert connected.get_attribute("data-connected") == "yes"
    connected.locator("a").click()
    page.wait_for_url("**/chains?q=BAC00001P1")
    assert page.locator("li.chain").count() == 1


def test_rebound_name_is_refused_in_the_browser(browser: Any, base_url: str) -> None:
    """DNS rebinding for real: a browser that resolves a foreign name to 127.0.0.1.

    Chromium's host resolver rules stand in for the attacker's DNS; the browser sends
    ``Host: rebound.test:PORT`` as it would after a rebinding, and must get the 400 page.
    """
    port = base_url.rsplit(":", 1)[1]
    rules = "--host-resolver-rules=MAP rebound.test 127.0.0.1"
    rebound = browser.browser_type.launch(
        executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, rules]
    )
    try:
        tab = rebound.new_page()
        response = tab.goto(f"http://rebound.test:{port}/chains")
        assert response.status == 400
        assert "--allow-host rebound.test" in tab.locator("#error-message").inner_text()
        assert tab.locator("li.chain").count() == 0
        api = tab.goto(f"http://rebound.test:{port}/api/chains")
        assert api.status == 400 and "chains" not in api.json()
        assert tab.goto(f"{base_url}/api/chains").status == 200  # the real name still works
    finally:
        rebound.close()
