"""A backend's options: resolved from the environment, config.yaml and defaults, and
described for output with every secret masked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from casman.storage.backend import BackendSpec
from casman.storage.errors import BackendConfigError

_SECRET_WORDS = ("secret", "password", "token", "credential")


def present(value: Any) -> bool:
    """Set and not blank: ``${VAR}`` in config.yaml expands to "" when VAR is missing."""
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def resolve_options(
    spec: BackendSpec, section: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    """Each option's value: environment variable > config section > default.

    Empty strings count as unset because ``${VAR}`` in config.yaml expands to "" when the
    variable is missing, and that must not hide the "needs VAR" message.
    """
    resolved: dict[str, Any] = {}
    for option in spec.options:
        value: Any = None
        if option.env and present(environ.get(option.env)):
            value = environ[option.env]
        elif present(section.get(option.name)):
            value = section[option.name]
        elif present(option.default):
            value = option.default
        if value is None and option.required:
            key = f"{spec.name}.{option.name} in config.yaml"
            needs = f"{option.env} (or {key})" if option.env else key
            raise BackendConfigError(f"backend {spec.name} needs {needs}")
        resolved[option.name] = value
    return resolved


def mask_secret(value: object) -> str:
    """Enough to recognise which secret is set, never enough to use it.

    Long values keep their first two characters and their length; short ones (which the
    first characters would largely give away) are fully masked.
    """
    if value is None:
        return "(not set)"
    text = str(value)
    if not text:
        return "(empty)"
    if len(text) < 12:
        return "****"
    return f"{text[:2]}…({len(text)} chars)"


def _looks_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


# ``scheme://`` then everything up to the last ``@`` of the same whitespace-free run: a
# password holding ``/`` or ``@`` (which a URL parser would split elsewhere) is masked whole.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)\S*@")
_URL_SECRET_PARAMETER = re.compile(
    r"(?P<name>[?&;][^=&#\s]*(?:secret|password|token|credential|signature|key)[^=&#\s]*=)"
    r"[^&#\s]*",
    re.IGNORECASE,
)


def mask_url_credentials(text: str) -> str:
    """``text`` with the credentials of every URL in it masked: userinfo and secret parameters.

    ``https://user:pw@host/x?token=abc`` → ``https://****@host/x?token=****``. It errs on the
    side of masking: an ``@`` later in a URL's path also masks what precedes it, which only
    shortens what is shown. Text without ``://`` is returned unchanged.
    """
    if "://" not in text:
        return text
    masked = _URL_USERINFO.sub(lambda match: f"{match['scheme']}****@", text)
    return _URL_SECRET_PARAMETER.sub(lambda match: f"{match['name']}****", masked)


def describe_settings(spec: BackendSpec, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings safe to print: secrets masked, and credentials inside any URL masked.

    Options declared secret (or named like one) are masked whole. Any other text value that
    holds a URL has its ``user:password@`` and secret-looking query parameters masked, since
    an endpoint is not a declared secret but may carry one (``https://user:pw@minio``).
    """
    secret = {option.name for option in spec.options if option.secret}
    described: dict[str, Any] = {}
    for name, value in settings.items():
        if name in secret or _looks_secret(name):
            described[name] = mask_secret(value)
        elif isinstance(value, str):
            described[name] = mask_url_credentials(value)
        else:
            described[name] = value
    return described
