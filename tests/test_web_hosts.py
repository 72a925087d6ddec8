"""The web view answers only to the host names it is served under (DNS-rebinding defence).

A rebinding attack can point any name at the server, but the browser still sends that
name in ``Host``; so ``Host: evil.example`` must get a 400 naming ``--allow-host``, on
every page, API and static file, while the loopback names, the bound address and every
``--allow-host`` name keep working, with or without a port.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casman.web.app import create_app
from casman.web.hosts import host_name, normalise_allowed_host, served_host_names
from tests.conftest import Casman
from tests.web_testdata import build_web_database

URLS = ("/", "/chains", "/grid?q=ANT00001", "/snap", "/api/chains", "/api/board/SNAP1A")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_web_database(tmp_path_factory.mktemp("hosts") / "database")


@pytest.fixture(scope="module")
def client(database: Path) -> FlaskClient:
    return create_app(database).test_client()


def status(client: FlaskClient, url: str, host: str) -> int:
    code: int = client.get(url, headers={"Host": host}).status_code
    return code


@pytest.mark.parametrize("url", [*URLS, "/static/style.css", "/nowhere"])
def test_foreign_host_is_refused_everywhere(client: FlaskClient, url: str) -> None:
    response = client.get(url, headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "--allow-host evil.example" in response.get_data(as_text=True)


def test_foreign_host_refusal_is_one_line_json_for_the_api(client: FlaskClient) -> None:
    response = client.get("/api/chains", headers={"Host": "evil.example:8000"})
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "casman web does not answer to host 'evil.example'; if that name should "
        "reach this view, start it with `casman web --allow-host evil.example`",
        "status": 400,
    }


def test_foreign_host_gets_an_html_error_page(client: FlaskClient) -> None:
    response = client.get("/grid", headers={"Host": "evil.example"})
    html = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert 'data-status="400"' in html and 'id="error-message"' in html
    assert "ANT00001" not in html  # no data leaks to the foreign origin


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8000",
        "LocalHost:8000",
        "localhost.",
        "127.0.0.1",
        "127.0.0.1:8000",
        "[::1]",
        "[::1]:8000",
        "[0:0:0:0:0:0:0:1]:8000",
    ],
)
@pytest.mark.parametrize("url", URLS)
def test_loopback_names_are_served(client: FlaskClient, url: str, host: str) -> None:
    assert status(client, url, host) == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "localhost.evil.example",
        "evil-localhost",
        "127.0.0.2",
        "0.0.0.0:8000",
        "localhost:abc",
        "localhost:",
        "[::1",
        "::1",
        "user@localhost",
        "local host",
        "localhost/x",
        "x" * 300,
    ],
)
def test_look_alikes_and_malformed_hosts_are_refused(client: FlaskClient, host: str) -> None:
    response = client.get("/api/chains", headers={"Host": host})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert "--allow-host" in error and "\n" not in error


def test_allowed_and_bound_names_are_served(database: Path) -> None:
    app = create_app(database, bind="192.168.120.5", allowed_hosts=["CASM-web.lan", "fe80::1"])
    client = app.test_client()
    for host in ("casm-web.lan", "casm-web.lan:8000", "192.168.120.5:8000", "[fe80::1]:80"):
        assert status(client, "/api/chains", host) == 200, host
    for host in ("evil.example", "192.168.120.6", "web.lan"):
        assert status(client, "/api/chains", host) == 400, host


def test_wildcard_bind_adds_no_name(database: Path) -> None:
    for bind in ("0.0.0.0", "::"):
        client = create_app(database, bind=bind).test_client()
        assert status(client, "/api/chains", "0.0.0.0:8000") == 400
        assert status(client, "/api/chains", "[::]:8000") == 400
        assert status(client, "/api/chains", "localhost:8000") == 200


def test_refused_before_any_database_is_opened(tmp_path: Path) -> None:
    """With no database, a foreign Host still gets 400, not 503: nothing is looked at."""
    client = create_app(tmp_path).test_client()
    assert status(client, "/api/chains", "evil.example") == 400
    assert status(client, "/api/chains", "localhost") == 503


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("LOCALHOST:80", "localhost"),
        ("casm.lan.", "casm.lan"),
        ("[::FFFF:7f00:1]:8000", "::ffff:7f00:1"),
        ("10.0.0.1", "10.0.0.1"),
        ("a:b", None),
        ("[nothex]", None),
        ("", None),
        ("host:123456", None),
    ],
)
def test_host_name_parsing(value: str, name: str | None) -> None:
    assert host_name(value) == name


def test_served_names() -> None:
    assert served_host_names(None) == {"localhost", "127.0.0.1", "::1"}
    assert served_host_names("0.0.0.0", ["Casm.Lan:8000", "[fe80::0:1]"]) == {
        "localhost",
        "127.0.0.1",
        "::1",
        "casm.lan",
        "fe80::1",
    }
    assert "casm-web" in served_host_names("casm-web")
    with pytest.raises(ValueError, match="not a host name"):
        normalise_allowed_host("http://casm.lan/")


# --- casman web --allow-host ------------------------------------------------------------


@pytest.fixture
def served(casman: Casman, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``casman web`` hands to ``Flask.run``, with the app, instead of serving."""
    seen: dict[str, Any] = {}

    def fake_run(self: Flask, **kwargs: Any) -> None:
        seen.update(kwargs, app=self)

    monkeypatch.setattr(Flask, "run", fake_run)
    casman.directory.mkdir()
    return seen


def test_web_command_allow_host_is_repeatable(casman: Casman, served: dict[str, Any]) -> None:
    result = casman.ok(
        "web", "--host", "0.0.0.0", "--allow-host", "casm-web.lan", "--allow-host", "10.0.0.5"
    )
    assert "answers to host names: 10.0.0.5, 127.0.0.1, [::1], casm-web.lan, localhost" in (
        result.output
    )
    client = served["app"].test_client()
    assert status(client, "/static/style.css", "casm-web.lan:8000") == 200
    assert status(client, "/static/style.css", "10.0.0.5:8000") == 200
    assert status(client, "/static/style.css", "0.0.0.0:8000") == 400
    assert status(client, "/static/style.css", "evil.example") == 400


def test_web_command_serves_its_bound_address(casman: Casman, served: dict[str, Any]) -> None:
    casman.ok("web", "--host", "192.168.120.5")
    client = served["app"].test_client()
    assert status(client, "/static/style.css", "192.168.120.5:8000") == 200
    assert status(client, "/static/style.css", "evil.example") == 400


def test_web_command_warns_when_databases_are_missing(
    casman: Casman, served: dict[str, Any]
) -> None:
    result = casman.ok("web")
    assert "Warning: no casman database in" in result.stderr
    assert "parts.db is missing" in result.stderr
    assert list(casman.directory.iterdir()) == []


def test_web_command_rejects_a_bad_allow_host(casman: Casman, served: dict[str, Any]) -> None:
    result = casman.fails("web", "--allow-host", "http://casm.lan/", code=2)
    assert "--allow-host" in result.stderr and "not a host name" in result.stderr
    assert served == {}
