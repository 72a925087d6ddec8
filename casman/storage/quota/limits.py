"""Which limits apply to a backend, what each request costs, and usage against the limits.

Pure functions of the backend's cost model and its ``quota`` setting: nothing here reads or
writes the tracker, so the dry-run estimate and the CLI can use them without a lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from casman.storage.backend import CostModel
from casman.storage.errors import BackendConfigError
from casman.storage.operations import BackendHandle

WARN_PERCENT = 80.0
BLOCK_PERCENT = 95.0
BYTES_PER_GB = 1000**3
"""Decimal GB: the smaller unit, so the limit in bytes errs on the safe side."""


def cost_model(handle: BackendHandle) -> CostModel:
    """The backend's declared billing (classes per operation kind, default limits)."""
    return handle.spec.capabilities.cost_model


def limits_for(handle: BackendHandle) -> tuple[dict[str, float], bool]:
    """The limits in force and whether they are the cost model's defaults.

    ``<backend>: {quota: {...}}`` in the config replaces the defaults entirely (any subset
    of storage_gb, class_a, class_b); a limit of 0 or less means "not enforced".
    """
    configured = handle.settings.get("quota")
    source: Mapping[str, Any]
    if isinstance(configured, Mapping) and configured:
        source, default = configured, False
    else:
        source, default = cost_model(handle).default_limits, True
    limits: dict[str, float] = {}
    for name, value in source.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BackendConfigError(
                f"quota limit {name}={value!r} for backend {handle.name} is not a number"
            ) from None
        if number > 0:
            limits[str(name)] = number
    return limits, default


def counter_name(billing_class: str) -> str:
    """The tracker's counter for a billing class: "A" is counted in ``class_a``."""
    return f"class_{billing_class.lower()}"


def billing_class(handle: BackendHandle, kind: str) -> str | None:
    """The billing class ("A", "B") of an operation kind, or None when it is free."""
    return cost_model(handle).classes.get(kind)


@dataclass(frozen=True)
class QuotaUsage:
    """A snapshot of one backend's tracked usage against its limits.

    ``percentages`` holds storage / class_a / class_b only for the resources with a limit.
    """

    backend: str
    label: str
    month: str
    storage_bytes: int
    class_a: int
    class_b: int
    backups: int
    restores: int
    limits: Mapping[str, float] = field(default_factory=dict)
    percentages: Mapping[str, float] = field(default_factory=dict)

    @property
    def storage_gb(self) -> float:
        return self.storage_bytes / BYTES_PER_GB


def percentages(
    storage_bytes: int, counters: Mapping[str, int], limits: Mapping[str, float]
) -> dict[str, float]:
    """Percent used of each limited resource ("storage", "class_a", ...)."""
    result: dict[str, float] = {}
    if "storage_gb" in limits:
        result["storage"] = 100.0 * storage_bytes / (limits["storage_gb"] * BYTES_PER_GB)
    for name, value in counters.items():
        if name in limits:
            result[name] = 100.0 * value / limits[name]
    return result


def resource_title(resource: str) -> str:
    """The words the spec's messages use: "Storage" or "Class A operations"."""
    if resource == "storage":
        return "Storage"
    return f"Class {resource.removeprefix('class_').upper()} operations"


def summary(usage: QuotaUsage) -> str:
    """One line of usage against limits, closing the quota error and warning messages.

    It is part of the engine's messages (not CLI rendering) because the spec fixes the
    wording of the error a blocked request raises.
    """
    if "storage_gb" in usage.limits:
        storage = f"Storage: {usage.storage_gb:.2f}/{usage.limits['storage_gb']:g} GB"
    else:
        storage = f"Storage: {usage.storage_gb:.2f} GB"
    parts = [storage]
    for name, title, count in (
        ("class_a", "Class A", usage.class_a),
        ("class_b", "Class B", usage.class_b),
    ):
        limit = usage.limits.get(name)
        parts.append(f"{title}: {count:,}/{limit:,.0f}" if limit else f"{title}: {count:,}")
    return ", ".join(parts)
