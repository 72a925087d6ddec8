"""Counting changes and deciding when an automatic backup is due."""

from __future__ import annotations


def maybe_auto_backup(operation: str) -> None:
    """Placeholder until the backup engine lands: automatic backups are off."""
    return None
