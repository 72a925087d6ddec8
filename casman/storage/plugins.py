"""Moved: the plugin host is :mod:`casman.plugins` (the one PluginManager) and the storage
side of it lives in :mod:`casman.storage.registry` (backends by name),
:mod:`casman.storage.options` (options and masking) and :mod:`casman.storage.opening`
(``open_storage``).

The names stay importable from here for code written against the old location; casman's
own modules import the new ones.
"""

from casman.plugins import (
    BUILTIN_PLUGIN_NAMES,
    ENTRY_POINT_GROUP,
    LOAD_PLUGINS_ENV,
    get_plugin_manager,
    one_line,
    reset_plugin_manager,
)
from casman.storage.opening import AUTOMATIC_WORK_DEFAULTS, open_storage
from casman.storage.options import (
    describe_settings,
    mask_secret,
    mask_url_credentials,
    resolve_options,
)
from casman.storage.put_limit import PutLimitPlugin
from casman.storage.registry import (
    KNOWN_BACKENDS,
    PluginInfo,
    backend_owner,
    backend_specs,
    get_backend_spec,
    plugin_report,
)

__all__ = [
    "AUTOMATIC_WORK_DEFAULTS",
    "BUILTIN_PLUGIN_NAMES",
    "ENTRY_POINT_GROUP",
    "KNOWN_BACKENDS",
    "LOAD_PLUGINS_ENV",
    "PluginInfo",
    "PutLimitPlugin",
    "backend_owner",
    "backend_specs",
    "describe_settings",
    "get_backend_spec",
    "get_plugin_manager",
    "mask_secret",
    "mask_url_credentials",
    "one_line",
    "open_storage",
    "plugin_report",
    "reset_plugin_manager",
    "resolve_options",
]
