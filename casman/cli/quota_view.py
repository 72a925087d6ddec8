"""The quota usage block of ``casman sync status``: rendering only, the numbers come from
:func:`casman.storage.quota.usage`.

It lives with the CLI because the engine returns results and never prints.
"""

from __future__ import annotations

from casman.storage.quota import BLOCK_PERCENT, WARN_PERCENT, QuotaUsage


def _symbol(percent: float) -> str:
    if percent >= BLOCK_PERCENT:
        return "✗"
    if percent >= WARN_PERCENT:
        return "⚠"
    return "✓"


def _line(name: str, value: str) -> str:
    return f"  {name:<22}{value}"


def format_usage(usage: QuotaUsage) -> list[str]:
    """The spec's "Quota Usage" block, one string per line (✓ <80 %, ⚠ 80–95 %, ✗ ≥95 %)."""
    lines = [f"{usage.label} Quota Usage:" if usage.label else "Quota Usage:"]
    if "storage_gb" in usage.limits:
        pct = usage.percentages["storage"]
        limit = usage.limits["storage_gb"]
        value = f"{_symbol(pct)} {usage.storage_gb:.2f} / {limit:g} GB ({pct:.1f}%)"
    else:
        value = f"{usage.storage_gb:.2f} GB (no limit)"
    lines.append(_line("Storage:", value))
    for name, title, count in (
        ("class_a", "Class A Ops (writes):", usage.class_a),
        ("class_b", "Class B Ops (reads):", usage.class_b),
    ):
        if name in usage.limits:
            pct = usage.percentages[name]
            value = f"{_symbol(pct)} {count:,} / {usage.limits[name]:,.0f} ({pct:.1f}%)"
        else:
            value = f"{count:,} (no limit)"
        lines.append(_line(title, value))
    lines.append(_line("Backups this month:", str(usage.backups)))
    lines.append(_line("Restores this month:", str(usage.restores)))
    return lines
