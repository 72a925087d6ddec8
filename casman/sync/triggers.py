"""Automatic backups after changes: every change command calls :func:`after_change`."""

from __future__ import annotations


def after_change(operation: str, immediate: bool = False) -> None:
    """Count the change and back up when due (only when auto_backup is configured)."""
    from casman.cli.common import get_config
    from casman.sync.auto import maybe_auto_backup

    maybe_auto_backup(get_config(), operation, immediate)
