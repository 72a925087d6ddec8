"""Compatibility as a rule: the host adapts to what a backend's methods accept.

The storage protocol grows by optional capabilities, never by required parameters. As
pluggy calls a hookimpl with only the arguments it names, the host inspects a backend's
methods once (:func:`inspect_backend`) and passes each only what it accepts: a ``get``
without ``max_bytes`` (written to the first guide) is called without it, and the host
enforces the limit on what it returns. What cannot be adapted to is refused when the
backend is loaded, with one line: a protocol version this casman does not serve, a missing
method, or a parameter without a default that casman never passes.

Each version of ``docs/writing-a-backend.md`` is a protocol version (:data:`PROTOCOLS`);
``tests/fixtures/guide_backends`` keeps a backend written to each, and the current
conformance suite runs on all of them.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from casman.storage.backend import BackendSpec, Capabilities
from casman.storage.errors import IncompatibleBackendError

PROTOCOL_VERSION = 4
"""The newest storage protocol this casman serves (``BackendSpec(protocol=…)``)."""
OLDEST_PROTOCOL = 1
"""The oldest it still serves: every version since the first guide."""

PROTOCOLS: Mapping[int, str] = {
    1: "five methods; get(key) reads whole objects; conditional writes declared or not",
    2: "get(key, *, max_bytes) may refuse large objects unread; errors declare request_sent",
    3: "ETag form, listing order and metadata names declared; capabilities on the instance; "
    "optional tidy(prefix); the host enforces max_single_put_bytes",
    4: "BackendSpec(protocol=…) declared; a put without conditional writes may leave out "
    "if_none_match/if_match; the host passes each method only the arguments it accepts",
}
"""What each protocol version added, newest last (the guide's history)."""

POSITIONAL: Mapping[str, tuple[str, ...]] = {
    "put": ("key", "body"),
    "get": ("key",),
    "head": ("key",),
    "list_page": ("prefix", "token", "max_keys"),
    "delete": ("key",),
    "tidy": ("prefix",),
}
"""What the host passes by position to each method."""
REQUIRED_KEYWORDS: Mapping[str, tuple[str, ...]] = {"put": ("metadata", "content_md5")}
"""Keyword arguments every backend takes (the first guide had them)."""
OPTIONAL_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "put": ("if_none_match", "if_match"),
    "get": ("max_bytes",),
}
"""Keyword arguments passed only to a method that accepts them."""
REQUIRED_METHODS = ("put", "get", "head", "list_page", "delete")
OPTIONAL_METHODS = ("tidy",)


@dataclass(frozen=True)
class BackendCalls:
    """What the host may pass to one backend, found by inspecting its methods."""

    accepted: Mapping[str, frozenset[str]]
    """Per method, the optional keyword arguments it accepts."""
    methods: frozenset[str]
    """The optional methods it has (``tidy``)."""

    def accepts(self, method: str, argument: str) -> bool:
        return argument in self.accepted.get(method, frozenset())

    def has(self, method: str) -> bool:
        return method in self.methods


def check_protocol(spec: BackendSpec, origin: str = "") -> None:
    """Refuse a spec declaring a protocol version this casman cannot serve."""
    declared = spec.protocol
    if OLDEST_PROTOCOL <= declared <= PROTOCOL_VERSION:
        return
    from casman import __version__

    by = f" ({origin})" if origin else ""
    advice = (
        "upgrade casman, or use a release of the backend written for an older protocol"
        if declared > PROTOCOL_VERSION
        else "storage protocols are numbered from 1; fix the backend's BackendSpec(protocol=…)"
    )
    raise IncompatibleBackendError(
        f"backend {spec.name}{by} needs storage protocol {declared}, and casman {__version__} "
        f"serves protocols {OLDEST_PROTOCOL} to {PROTOCOL_VERSION}: {advice}"
    )


def _signature(function: Callable[..., object]) -> inspect.Signature | None:
    try:
        return inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: assume it takes all
        return None


def _method_calls(name: str, method: str, signature: inspect.Signature | None) -> frozenset[str]:
    """The optional keywords ``method`` accepts; IncompatibleBackendError when the host
    cannot call it (too few positions, a required parameter it never passes)."""
    optional = OPTIONAL_KEYWORDS.get(method, ())
    if signature is None:
        return frozenset(optional)
    params = list(signature.parameters.values())
    kinds = inspect.Parameter
    positional = [
        p for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
    ]
    var_positional = any(p.kind is kinds.VAR_POSITIONAL for p in params)
    var_keyword = any(p.kind is kinds.VAR_KEYWORD for p in params)
    passed = POSITIONAL[method]
    where = f"backend {name}: {method}()"
    if len(positional) < len(passed) and not var_positional:
        raise IncompatibleBackendError(
            f"{where} must take {', '.join(passed)} by position, as casman passes them; "
            "see docs/writing-a-backend.md"
        )
    filled = {p.name for p in positional[: len(passed)]}
    keywords = {
        p.name for p in params if p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)
    }
    for required in REQUIRED_KEYWORDS.get(method, ()):
        if required not in keywords and not var_keyword:
            raise IncompatibleBackendError(
                f"{where} must accept {required}=, which casman passes on every call; "
                "see docs/writing-a-backend.md"
            )
    known = set(REQUIRED_KEYWORDS.get(method, ())) | set(optional)
    for param in params:
        if param.name in filled or param.kind in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD):
            continue
        if param.default is inspect.Parameter.empty and param.name not in known:
            raise IncompatibleBackendError(
                f"{where} requires a parameter {param.name!r} that casman never passes "
                f"(storage protocol {PROTOCOL_VERSION}); give it a default"
            )
    return frozenset(argument for argument in optional if argument in keywords or var_keyword)


def _calls(name: str, signatures: Mapping[str, inspect.Signature | None]) -> BackendCalls:
    accepted = {method: _method_calls(name, method, sig) for method, sig in signatures.items()}
    return BackendCalls(
        accepted=accepted,
        methods=frozenset(m for m in OPTIONAL_METHODS if m in signatures),
    )


def _missing(name: str, method: str) -> IncompatibleBackendError:
    return IncompatibleBackendError(
        f"backend {name} has no {method}() method, which every backend needs; "
        "see docs/writing-a-backend.md"
    )


def inspect_backend(impl: object, name: str, capabilities: Capabilities) -> BackendCalls:
    """What casman may pass to the instance ``impl``; raises IncompatibleBackendError (one
    line) when it cannot be used at all."""
    signatures: dict[str, inspect.Signature | None] = {}
    for method in REQUIRED_METHODS + OPTIONAL_METHODS:
        function = getattr(impl, method, None)
        if not callable(function):
            if method in REQUIRED_METHODS:
                raise _missing(name, method)
            continue
        signatures[method] = _signature(function)
    calls = _calls(name, signatures)
    _check_conditional(name, calls, capabilities)
    return calls


def _check_conditional(name: str, calls: BackendCalls, capabilities: Capabilities) -> None:
    if not capabilities.conditional_writes:
        return
    for argument in OPTIONAL_KEYWORDS["put"]:
        if not calls.accepts("put", argument):
            raise IncompatibleBackendError(
                f"backend {name} declares conditional writes, but its put() takes no "
                f"{argument}=; accept it or declare conditional_writes=False"
            )


def inspect_class(cls: type, name: str, capabilities: Capabilities) -> BackendCalls:
    """:func:`inspect_backend` on a class (methods unbound), so a registered spec whose
    factory names the class it returns can be checked before any instance exists."""
    signatures: dict[str, inspect.Signature | None] = {}
    for method in REQUIRED_METHODS + OPTIONAL_METHODS:
        function = getattr(cls, method, None)
        if not callable(function):
            if method in REQUIRED_METHODS:
                raise _missing(name, method)
            continue
        signature = _signature(function)
        static = isinstance(inspect.getattr_static(cls, method), staticmethod | classmethod)
        if signature is not None and not static:
            params = list(signature.parameters.values())
            if params and params[0].kind is not inspect.Parameter.VAR_POSITIONAL:
                signature = signature.replace(parameters=params[1:])  # self
        signatures[method] = signature
    calls = _calls(name, signatures)
    _check_conditional(name, calls, capabilities)
    return calls


def factory_class(spec: BackendSpec) -> type | None:
    """The class the factory says it returns (its return annotation), when that is a
    concrete class; None when it names none, a Protocol, or cannot be resolved."""
    try:
        returned = typing.get_type_hints(spec.factory).get("return")
    except Exception:  # an annotation that does not resolve is the factory's business
        return None
    if not isinstance(returned, type) or getattr(returned, "_is_protocol", False):
        return None
    return returned


def check_spec(spec: BackendSpec, origin: str = "") -> None:
    """Everything that can be checked when a plugin registers ``spec``."""
    check_protocol(spec, origin)
    cls = factory_class(spec)
    if cls is not None:
        inspect_class(cls, spec.name, spec.capabilities)
