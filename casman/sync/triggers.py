"""Automatic backups after changes (opt-in; see docs/decisions.md).

Every change command calls :func:`after_change`. When ``database.sync.auto_backup`` is on,
changes are counted in ``.scan_tracker.json`` and a backup runs after
``backup_on_scan_count`` changes or ``backup_on_hours`` hours. A failed automatic backup is a
warning, never a failed command: the change itself is already safely recorded.
"""

from __future__ import annotations


def after_change(operation: str) -> None:
    """Hook for automatic backups; a no-op unless auto_backup is configured."""
    from casman.sync.auto import maybe_auto_backup

    maybe_auto_backup(operation)
