"""Settings shared by ``s3`` and ``r2``: endpoint URLs and the network bounds.

Both factories validate here, before boto3 is touched, so a typo in an environment variable
is one line naming that variable (not a botocore traceback), and so the timeouts that bound
every command are checked once, the same way, whichever backend or caller supplies them.
Nothing here imports boto3.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from casman.storage import BackendConfigError, BackendOption

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
DEFAULT_MAX_ATTEMPTS = 1
"""botocore's own attempts: 1, because casman's host retries (each attempt is then counted by
the quota wrapper, which botocore's hidden retries would escape)."""
MAX_ATTEMPTS_LIMIT = 10
MAX_TIMEOUT = 3600.0
"""Upper bound of a timeout: larger values are surely a mistake (and overflow a socket)."""

MASK = "****"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,15}")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True)
class Network:
    """How long one request may take: botocore's connect/read timeouts and total attempts.

    Against a server that accepts and never answers, one call gives up after
    ``max_attempts × read_timeout`` plus under 0.2 s of backoff; :meth:`worst_case_seconds`
    bounds every other way of failing slowly.
    """

    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def worst_case_seconds(self) -> float:
        """An upper bound for one call, every attempt failing as slowly as it can.

        Each attempt waits at most for a connection and then for an answer. Between
        attempts botocore's standard mode sleeps at most ``min(2**i, 20)`` seconds when
        throttled (50 ms × 2**i otherwise), plus up to 5 s more if the server asks for it
        with ``x-amz-retry-after``. Name resolution is not covered by any timeout.
        """
        per_attempt = self.connect_timeout + self.read_timeout
        backoff = sum(min(2.0**i, 20.0) + 5.0 for i in range(self.max_attempts - 1))
        return self.max_attempts * per_attempt + backoff


def network_options(env_prefix: str) -> tuple[BackendOption, ...]:
    """The three options that bound waiting, with ``{env_prefix}_CONNECT_TIMEOUT`` etc.

    Defaults are strings because BackendOption defaults are; :func:`network_settings`
    parses them like any value from the environment or config.yaml.
    """
    return (
        BackendOption(
            name="connect_timeout",
            description=(
                f"Seconds to wait for a connection (default {DEFAULT_CONNECT_TIMEOUT:g})."
            ),
            env=f"{env_prefix}_CONNECT_TIMEOUT",
            default=f"{DEFAULT_CONNECT_TIMEOUT:g}",
        ),
        BackendOption(
            name="read_timeout",
            description=(
                f"Seconds to wait for an answer once connected (default {DEFAULT_READ_TIMEOUT:g})."
            ),
            env=f"{env_prefix}_READ_TIMEOUT",
            default=f"{DEFAULT_READ_TIMEOUT:g}",
        ),
        BackendOption(
            name="max_attempts",
            description=(
                f"Attempts per request, the first included, 1 to {MAX_ATTEMPTS_LIMIT} "
                f"(default {DEFAULT_MAX_ATTEMPTS})."
            ),
            env=f"{env_prefix}_MAX_ATTEMPTS",
            default=str(DEFAULT_MAX_ATTEMPTS),
        ),
    )


def where(backend: str, option: str, env: str | None) -> str:
    """How a message names a setting: ``ENV (or backend.option in config.yaml)``."""
    key = f"{backend}.{option} in config.yaml"
    return f"{env} (or {key})" if env else key


def _number(value: object) -> float | None:
    """A finite float from an int, float or numeric string; None for anything else."""
    if isinstance(value, bool):
        return None  # YAML `yes` is not a number of seconds
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _shown(value: object) -> str:
    """A non-secret value quoted for a message, cut short so a message stays one line."""
    text = repr(value) if not isinstance(value, str) else repr(value.strip())
    return text if len(text) <= 40 else text[:39] + "…"


def network_settings(
    settings: Mapping[str, Any], backend: str, options: tuple[BackendOption, ...]
) -> Network:
    """Validated timeouts and attempts from resolved options (strings, numbers or None).

    A value of None takes the default, so a caller (the core, for automatic backups) may
    pass only the bounds it wants to tighten; any value given is honoured exactly.
    """
    envs = {option.name: option.env for option in options}

    def timeout(name: str, default: float) -> float:
        value = settings.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        number = _number(value)
        if number is None or not 0 < number <= MAX_TIMEOUT:
            raise BackendConfigError(
                f"{where(backend, name, envs.get(name))} must be a number of seconds "
                f"above 0 and at most {MAX_TIMEOUT:g}, e.g. {default:g}; got {_shown(value)}"
            )
        return number

    connect = timeout("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    read = timeout("read_timeout", DEFAULT_READ_TIMEOUT)
    raw = settings.get("max_attempts")
    attempts = DEFAULT_MAX_ATTEMPTS
    if raw is not None and not (isinstance(raw, str) and not raw.strip()):
        number = _number(raw)
        if number is None or not number.is_integer() or not 1 <= number <= MAX_ATTEMPTS_LIMIT:
            raise BackendConfigError(
                f"{where(backend, 'max_attempts', envs.get('max_attempts'))} must be a whole "
                f"number from 1 to {MAX_ATTEMPTS_LIMIT} (attempts per request, the first "
                f"included), e.g. {DEFAULT_MAX_ATTEMPTS}; got {_shown(raw)}"
            )
        attempts = int(number)
    return Network(connect_timeout=connect, read_timeout=read, max_attempts=attempts)


# -- endpoint URLs ------------------------------------------------------------------------


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None


def endpoint_problem(url: str) -> str | None:
    """What is wrong with ``url`` as an S3 endpoint, or None if botocore will accept it.

    The answer never quotes the value: a malformed URL may hold a password in a place no
    parser would recognise as one.
    """
    if any(char.isspace() or not char.isprintable() for char in url):
        return "contains spaces or control characters"
    scheme, separator, _ = url.partition("://")
    if not separator:
        return "has no http:// or https:// scheme"
    if scheme.lower() not in ("http", "https"):
        named = f" {scheme.lower()}://" if _SCHEME.fullmatch(scheme) else ""
        return f"uses an unsupported scheme{named}"
    parts = _split(url)
    if parts is None:
        return "is not a valid URL"
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return "has an invalid port"
    host = parts.hostname or ""
    if not host:
        return "has no host"
    if ":" not in host and not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
        return "has an invalid host name"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "must not have a query (?…) or fragment (#…)"
    return None


def check_endpoint(url: str, setting: str, example: str) -> str:
    """``url`` stripped, or BackendConfigError naming ``setting`` and a valid example."""
    text = url.strip()
    problem = endpoint_problem(text)
    if problem is not None:
        raise BackendConfigError(
            f"{setting} {problem}: set it to an http:// or https:// URL with a host, e.g. {example}"
        )
    return text


def _replace_userinfo(url: str, replacement: str) -> str:
    parts = _split(url)
    if parts is None or "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=replacement + host))


def mask_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``****@``: safe to print or log."""
    return _replace_userinfo(url, f"{MASK}@")


def without_userinfo(url: str) -> str:
    """``url`` without ``user:password@``, as botocore is given it.

    botocore ignores userinfo (S3 authenticates with signed keys, never HTTP basic auth),
    so dropping it changes nothing on the wire and keeps the password out of botocore's
    own exception messages and debug logs.
    """
    return _replace_userinfo(url, "")
