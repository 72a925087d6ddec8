"""``casman web``: serve the read-only web views on the LAN.

Flask is imported inside the command only, so the everyday CLI never needs the ``web``
extra; without it the command says how to install it in one line.
"""

from __future__ import annotations

import importlib.util

import click

from casman.errors import CasmanError

INSTALL_HINT = "casman web needs the web extra: pip install 'casman[web]'"


def _require_flask() -> None:
    if importlib.util.find_spec("flask") is None:
        raise CasmanError(INSTALL_HINT)


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 to serve the whole LAN).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def web(host: str, port: int) -> None:
    """Serve read-only web views of chains, the grid and SNAP ports.

    Flask's built-in server is enough for a read-only tool on the site network: every
    request opens the databases afresh and nothing is ever written.
    """
    from casman.cli.common import get_config
    from casman.domain.grid import geometry_from_config

    _require_flask()
    try:
        from casman.web.app import create_app
    except ImportError as error:
        raise CasmanError(f"{INSTALL_HINT} ({error})") from None
    config = get_config()
    geometry = geometry_from_config(config.section("grid")).get("C")
    if not config.database_dir.is_dir():
        raise CasmanError(
            f"database directory {config.database_dir} does not exist; set CASMAN_DATABASE_DIR"
        )
    app = create_app(config.database_dir, geometry=geometry)
    click.echo(f"casman web: http://{host}:{port}/ (database {config.database_dir}); Ctrl-C stops")
    app.run(host=host, port=port, threaded=True, debug=False, use_reloader=False)
