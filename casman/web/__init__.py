"""Read-only web views of the CASM array (needs the ``web`` extra: Flask).

Import :func:`create_app` from :mod:`casman.web.app`; this package itself imports nothing
so ``import casman.web`` never requires Flask.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``casman.web.create_app`` imports Flask only when it is first used."""
    if name == "create_app":
        from casman.web.app import create_app

        return create_app
    raise AttributeError(f"module 'casman.web' has no attribute {name!r}")
