"""The one error family of the sync engine: each is a line a user can act on."""

from __future__ import annotations

from casman.errors import CasmanError


class SyncError(CasmanError):
    """A sync command could not do what was asked; nothing was lost."""


class ArrayMismatchError(SyncError):
    """The site's database and the store belong to different arrays (unrelated histories)."""


class StoreMissingError(SyncError):
    """A store this site has published to is missing or empty (not mounted, or wiped)."""


class SyncBusyError(SyncError):
    """Another sync of this site's databases is running."""


class DamagedObjectError(SyncError):
    """An object of the store does not match what names it (set aside, never installed)."""
