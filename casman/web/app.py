"""The read-only web views: chains, the core grid and SNAP ports, as HTML and JSON.

Each request opens its own read-only connection (:func:`~casman.db.readonly.open_read_only`)
and closes it at the end, so the app sees every scan as soon as it is committed, never
takes the write lock a technician's scan needs, and creates nothing. The one connection it
keeps between requests is the idle watcher of :mod:`casman.web.chain_cache`, which reads
only ``PRAGMA data_version`` to know when its whole-array chain index is out of date.
Pointed at an empty or missing directory it answers 503 naming the directory. Requests
whose ``Host`` is not one of the names the view is served under are refused with 400
before anything else runs (see :mod:`casman.web.hosts`). User
mistakes (a malformed grid code, an unknown part, a packet index out of range) are
:class:`~casman.errors.CasmanError` subclasses and become a 400 or 404 page or
``{"error": ...}``, never a 500.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from casman.db.chains import ChainIndex
from casman.db.connection import DatabaseFileError
from casman.db.readonly import open_read_only
from casman.domain.errors import DomainError
from casman.domain.grid import ArrayGeometry
from casman.domain.kernel import KernelIndex, kernel_for_geometry
from casman.errors import CasmanError
from casman.sync.conflicts import local_conflicts
from casman.web import views
from casman.web.chain_cache import ChainIndexCache
from casman.web.hosts import host_name, refusal, served_host_names

PAGES = (
    ("chains", "Chains", "Every signal chain ANTENNA → … → SNAP port, searchable by part."),
    ("grid", "Grid", "The core grid with the antenna at each position; tap for its signals."),
    ("snap", "SNAP", "Every chassis, board and port, coloured by what reaches it."),
)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.args.get("format") == "json"


def _conn() -> sqlite3.Connection:
    if "casman_conn" not in g:
        g.casman_conn = open_read_only(current_app.config["CASMAN_DATABASE_DIR"])
    conn: sqlite3.Connection = g.casman_conn
    return conn


def _chain_index() -> ChainIndex:
    """The app's chain index for what this request's connection sees (see chain_cache)."""
    cache: ChainIndexCache = current_app.extensions["casman_chain_index"]
    return cache.get(_conn())


def _close_conn(_error: BaseException | None) -> None:
    conn = g.pop("casman_conn", None)
    if conn is not None:
        conn.close()


def _render(template: str, data: dict[str, Any], **extra: Any) -> Any:
    """One view, two formats: the same dict as JSON or rendered into the template."""
    fmt = request.args.get("format", "html")
    if fmt == "json":
        return jsonify(data)
    if fmt != "html":
        raise DomainError(f"format {fmt!r} is not html or json")
    return render_template(template, data=data, **extra)


def _error_response(status: int, message: str) -> tuple[Any, int]:
    if _wants_json():
        return jsonify({"error": message, "status": status}), status
    return render_template("error.html", status=status, message=message, pages=PAGES), status


def _status_for(error: CasmanError) -> int:
    if isinstance(error, views.NotFoundError):
        return 404
    if isinstance(error, DatabaseFileError):
        return 503
    return 400


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CasmanError)
    def casman_error(error: CasmanError) -> tuple[Any, int]:
        return _error_response(_status_for(error), str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Any, int]:
        return _error_response(error.code or 500, error.description or error.name)

    @app.errorhandler(sqlite3.DatabaseError)
    def database_error(error: sqlite3.DatabaseError) -> tuple[Any, int]:
        return _error_response(
            503, f"database problem: {error}; check the database directory or restore a backup"
        )


def _check_host() -> tuple[Any, int] | None:
    """Refuse a request whose ``Host`` is not a name this view is served under (400).

    Runs before every view, static files included, and before any database is opened.
    """
    allowed: frozenset[str] = current_app.config["CASMAN_ALLOWED_HOSTS"]
    if host_name(request.host) in allowed:
        return None
    return _error_response(400, refusal(request.host))


def _security_headers(response: Response) -> Response:
    """Everything is served from this app: no CDN, no inline script, no framing."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _register_routes(
    app: Flask, geometry: ArrayGeometry | None, kernel: KernelIndex | None
) -> None:
    def route(rule: str, endpoint: str, view: Callable[..., Any]) -> None:
        app.add_url_rule(rule, endpoint, view, methods=["GET"])

    def home() -> Any:
        data = views.home_page(_conn(), _chain_index)
        data["open_conflicts"] = [
            c.to_json() for c in local_conflicts(current_app.config["CASMAN_DATABASE_DIR"])
        ]
        return _render("home.html", data, pages=PAGES)

    def chains_data() -> dict[str, Any]:
        args = request.args
        return views.chains_page(
            _conn(), args.get("q"), args.get("page"), args.get("per_page"), _chain_index
        )

    def chains() -> Any:
        return _render(
            "chains.html",
            chains_data(),
            pages=PAGES,
            active="chains",
            default_per_page=views.DEFAULT_PER_PAGE,
        )

    def grid() -> Any:
        data = views.grid_page(_conn(), geometry, request.args.get("q"), kernel, _chain_index)
        return _render("grid.html", data, pages=PAGES, active="grid")

    def snap() -> Any:
        return _render(
            "snap.html", views.snap_page(_conn(), _chain_index), pages=PAGES, active="snap"
        )

    def api_chains() -> Any:
        return jsonify(chains_data())

    def api_grid() -> Any:
        return jsonify(
            views.grid_page(_conn(), geometry, request.args.get("q"), kernel, _chain_index)
        )

    def api_snap() -> Any:
        return jsonify(views.snap_page(_conn(), _chain_index))

    def api_antenna(query: str) -> Any:
        layout = kernel if kernel is not None else kernel_for_geometry(geometry)
        return jsonify(views.antenna_detail(_conn(), query, layout))

    def api_board(name: str) -> Any:
        return jsonify(views.board_detail(_conn(), name))

    route("/", "home", home)
    route("/chains", "chains", chains)
    route("/grid", "grid", grid)
    route("/snap", "snap", snap)
    route("/api/chains", "api_chains", api_chains)
    route("/api/grid", "api_grid", api_grid)
    route("/api/snap", "api_snap", api_snap)
    route("/api/antenna/<path:query>", "api_antenna", api_antenna)
    route("/api/board/<path:name>", "api_board", api_board)


def create_app(
    database_dir: Path,
    *,
    geometry: ArrayGeometry | None = None,
    bind: str | None = None,
    allowed_hosts: Iterable[str] = (),
    kernel: KernelIndex | None = None,
) -> Flask:
    """The Flask app over the databases in ``database_dir``.

    ``geometry`` is the configured shape of core array C (``grid.arrays.C`` in
    config.yaml); without it the grid's shape comes from the loaded grid positions.
    ``kernel`` is the configured correlator kernel index (``grid.kernel_index``).
    The app answers to the loopback names, to ``bind`` (the address the server listens
    on) unless it is a wildcard like ``0.0.0.0``, and to each of ``allowed_hosts``;
    a name that is not a host name raises ``ValueError``.
    """
    app = Flask(__name__)
    app.config["CASMAN_DATABASE_DIR"] = Path(database_dir)
    app.config["CASMAN_ALLOWED_HOSTS"] = served_host_names(bind, allowed_hosts)
    app.extensions["casman_chain_index"] = ChainIndexCache(Path(database_dir))
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.before_request(_check_host)
    app.teardown_appcontext(_close_conn)
    app.after_request(_security_headers)
    _register_errors(app)
    _register_routes(app, geometry, kernel)
    return app
