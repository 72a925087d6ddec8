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


def _host_names(
    _ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    """Canonical ``--allow-host`` names; a typo is a usage error now, not a 400 later."""
    from casman.web.hosts import normalise_allowed_host

    try:
        return tuple(normalise_allowed_host(value) for value in values)
    except ValueError as error:
        raise click.BadParameter(str(error), param=param) from None


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 to serve the whole LAN).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--allow-host",
    "allow_hosts",
    metavar="NAME",
    multiple=True,
    callback=_host_names,
    help=(
        "Also answer to this host name or address (repeatable). By default only "
        "localhost, 127.0.0.1, [::1] and the --host address are answered; requests for "
        "any other Host get 400, which stops DNS-rebinding attacks."
    ),
)
def web(host: str, port: int, allow_hosts: tuple[str, ...]) -> None:
    """Serve read-only web views of chains, the grid and SNAP ports.

    Flask's built-in server is enough for a read-only tool on the site network: every
    request opens the databases afresh, read-only, and nothing is ever written. On the LAN
    (--host 0.0.0.0) add the name or address people type in the browser with --allow-host.
    """
    from casman.cli.common import get_config
    from casman.domain.grid import geometry_from_config

    _require_flask()
    try:
        from casman.web.app import create_app
    except ImportError as error:
        raise CasmanError(f"{INSTALL_HINT} ({error})") from None
    from casman.db.connection import DatabaseFileError
    from casman.db.readonly import open_read_only
    from casman.domain.kernel import kernel_from_config

    config = get_config()
    geometry = geometry_from_config(config.section("grid")).get("C")
    if not config.database_dir.is_dir():
        raise CasmanError(
            f"database directory {config.database_dir} does not exist; set CASMAN_DATABASE_DIR"
        )
    try:
        open_read_only(config.database_dir).close()
    except DatabaseFileError as error:
        from casman.cli.verbosity import note

        note(f"Warning: {error}; the pages answer 503 until that is fixed")
    try:
        app = create_app(
            config.database_dir,
            geometry=geometry,
            bind=host,
            allowed_hosts=allow_hosts,
            kernel=kernel_from_config(config.section("grid")),
        )
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--host'") from None
    names = ", ".join(
        sorted(f"[{name}]" if ":" in name else name for name in app.config["CASMAN_ALLOWED_HOSTS"])
    )
    click.echo(f"casman web: http://{host}:{port}/ (database {config.database_dir}); Ctrl-C stops")
    click.echo(f"answers to host names: {names} (add more with --allow-host NAME)")
    # the whole-array index is rebuilt in the background right after each change, so the
    # first page after a scan answers as fast as any other
    app.extensions["casman_chain_index"].start_refresher()
    app.run(host=host, port=port, threaded=True, debug=False, use_reloader=False)
