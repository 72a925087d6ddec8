"""Which ``Host`` header values the web view answers to (the DNS-rebinding defence).

A page on any web site can make a visitor's browser send requests to a name the attacker
controls and then re-point that name's DNS at ``127.0.0.1`` or at the site LAN. The
browser then treats casman's answers as the attacker's own origin and lets the page read
them. The one thing the browser cannot hide is the name: the request still says
``Host: attacker.example``. So the view answers only to the names it is really served
under: the loopback names, the address it was bound to (unless that is a wildcard such as
``0.0.0.0``) and the names given with ``casman web --allow-host``. The port is not
compared (the name is what a rebinding attack cannot fake), and matching is exact: no
wildcards, so an allowed name never lets a look-alike in.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# bind addresses that mean "every interface": they name no host, so they allow nothing
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
MAX_HOST_LENGTH = 253

_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*$")
_PORT = re.compile(r"^:[0-9]{1,5}$")


def host_name(value: str) -> str | None:
    """The host name in a ``Host`` value, canonical; ``None`` when it is not a valid one.

    ``LocalHost:8000`` → ``localhost``, ``[0:0::1]:80`` → ``::1``, ``casm.lan.`` →
    ``casm.lan`` (a trailing dot names the same host). Anything else in the value (a user
    part, a path, spaces, a non-numeric port) makes it invalid, so odd headers are refused
    rather than guessed at.
    """
    text = value.strip().lower()
    if not text or len(text) > MAX_HOST_LENGTH + 8:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        inside, port = text[1:end], text[end + 1 :]
        try:
            name = ipaddress.IPv6Address(inside).compressed
        except ValueError:
            return None
    else:
        name, colon, rest = text.partition(":")
        port = colon + rest
        if name.endswith("."):
            name = name[:-1]
        if not _NAME.match(name) or len(name) > MAX_HOST_LENGTH:
            return None
    if port and not _PORT.match(port):
        return None
    return name


def normalise_allowed_host(text: str) -> str:
    """An ``--allow-host`` value as :func:`host_name` canonicalises it; raises ``ValueError``.

    Besides what a ``Host`` header may hold, a bare IPv6 address (``fe80::1``) is accepted,
    since that is how people type one.
    """
    stripped = text.strip()
    try:
        return ipaddress.IPv6Address(stripped).compressed
    except ValueError:
        pass
    name = host_name(stripped)
    if name is None:
        raise ValueError(
            f"{text!r} is not a host name or address (like casm-web.lan or 192.168.1.20)"
        )
    return name


def served_host_names(bind: str | None, extra: Iterable[str] = ()) -> frozenset[str]:
    """The names the view answers to: loopback, ``bind`` unless a wildcard, and ``extra``."""
    names = set(LOOPBACK_NAMES)
    if bind is not None and bind.strip():
        bound = normalise_allowed_host(bind)
        if bound not in WILDCARD_BINDS:
            names.add(bound)
    names.update(normalise_allowed_host(name) for name in extra)
    return frozenset(names)


def refusal(value: str) -> str:
    """The one-line answer to a ``Host`` the view does not serve.

    It does not list the names that are served: the page that triggered the request can
    read this answer, and it has no business learning the site's internal host names.
    """
    name = host_name(value)
    if name is None:
        shown = value.strip()[:80]
        return (
            f"Host header {shown!r} is not a valid host name; casman web answers only to "
            "its own names (localhost, the --host address and each --allow-host NAME)"
        )
    shown = f"[{name}]" if ":" in name else name
    return (
        f"casman web does not answer to host {shown!r}; if that name should reach this "
        f"view, start it with `casman web --allow-host {shown}`"
    )
