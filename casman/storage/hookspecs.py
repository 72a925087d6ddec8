"""Moved to :mod:`casman.hookspecs` (the plugin host sits at the top of the package).

These names stay importable from here for code written against the old location; new code
imports :mod:`casman.hookspecs`, and plugins import ``hookimpl`` from ``casman.storage``.
"""

from casman.hookspecs import (
    HOOK_NAMES,
    PROJECT_NAME,
    casman_after_change,
    casman_register_backends,
    casman_storage_op,
    hookimpl,
    hookspec,
)

__all__ = [
    "HOOK_NAMES",
    "PROJECT_NAME",
    "casman_after_change",
    "casman_register_backends",
    "casman_storage_op",
    "hookimpl",
    "hookspec",
]
