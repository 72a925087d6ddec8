"""casman backend ``local``: plain files in a directory (a NAS mount, a USB stick).

The plugin module (:mod:`casman_local.plugin`) is what the ``casman`` entry point loads; the
backend itself is imported only when a command opens the store. It uses nothing but ``os``.
"""

__version__ = "0.2.0"
