"""casman backend ``local``: objects as files in a directory (a NAS mount, a USB stick).

The plugin module (:mod:`casman_local.plugin`) is what the ``casman`` entry point loads; the
backend itself (and fsspec behind it) is imported only when a command opens the store.
"""

__version__ = "0.1.0"
