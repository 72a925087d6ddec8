"""The quota block of ``casman sync status``: the spec's layout and its ✓/⚠/✗ symbols."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from casman.cli.quota_view import format_usage
from casman.storage import quota
from casman.storage.quota import tracker
from tests.test_quota import make_handle


def test_format_usage_matches_the_spec() -> None:
    usage = quota.QuotaUsage(
        backend="r2",
        label="R2 Free Tier",
        month="2026-03",
        storage_bytes=2_340_000_000,
        class_a=850_000,
        class_b=1_234_567,
        backups=850,
        restores=12,
        limits={"storage_gb": 10, "class_a": 1_000_000, "class_b": 10_000_000},
        percentages={"storage": 23.4, "class_a": 85.0, "class_b": 12.34567},
    )
    assert format_usage(usage) == [
        "R2 Free Tier Quota Usage:",
        "  Storage:              ✓ 2.34 / 10 GB (23.4%)",
        "  Class A Ops (writes): ⚠ 850,000 / 1,000,000 (85.0%)",
        "  Class B Ops (reads):  ✓ 1,234,567 / 10,000,000 (12.3%)",
        "  Backups this month:   850",
        "  Restores this month:  12",
    ]


@pytest.mark.parametrize(
    ("count", "symbol"), [(0, "✓"), (79, "✓"), (80, "⚠"), (94, "⚠"), (95, "✗"), (100, "✗")]
)
def test_format_usage_symbols(tmp_path: Path, count: int, symbol: str) -> None:
    handle = make_handle(tmp_path, {"class_a": 100})
    data = tracker.fresh(datetime.now(UTC))
    data["class_a"] = count
    tracker.write_atomic(quota.tracker_path(handle), data)
    lines = format_usage(quota.usage(handle))
    assert lines[2].startswith(f"  Class A Ops (writes): {symbol} {count:,} / 100 ")
    assert lines[1] == "  Storage:              0.00 GB (no limit)"
