"""Backup object keys: ``backups/{db_name}/{YYYYmmdd_HHMMSS}_{db_name}``.

Versions live in keys (R2 has no object versioning), and the timestamp in the key sorts
newest-last lexically, so the newest backup is found from a listing alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from casman.db.schema import DATABASE_NAMES
from casman.errors import CasmanError

BACKUP_PREFIX = "backups/"
KEY_TIME_FORMAT = "%Y%m%d_%H%M%S"
_KEY = re.compile(r"^backups/([A-Za-z0-9_.\-]+)/(\d{8}_\d{6})_([A-Za-z0-9_.\-]+)$")


class InvalidBackupKeyError(CasmanError):
    pass


@dataclass(frozen=True, order=True)
class BackupKey:
    taken_at: datetime
    db_name: str

    @property
    def key(self) -> str:
        stamp = self.taken_at.strftime(KEY_TIME_FORMAT)
        return f"{BACKUP_PREFIX}{self.db_name}/{stamp}_{self.db_name}"

    def next_second(self) -> BackupKey:
        return BackupKey(self.taken_at + timedelta(seconds=1), self.db_name)


def prefix_for(db_name: str) -> str:
    return f"{BACKUP_PREFIX}{db_name}/"


def new_key(db_name: str, now: datetime) -> BackupKey:
    return BackupKey(now.astimezone(UTC).replace(microsecond=0), db_name)


def parse_backup_key(key: str) -> BackupKey:
    """Refuse anything that is not a backup key of a known database (before any I/O)."""
    text = key.strip()
    match = _KEY.match(text)
    if match is None or ".." in text:
        raise InvalidBackupKeyError(
            f"{key!r} is not a backup key; keys look like "
            "backups/parts.db/20241208_143022_parts.db (see `casman sync list`)"
        )
    folder, stamp, name = match.groups()
    if folder != name or name not in DATABASE_NAMES:
        raise InvalidBackupKeyError(
            f"{key!r} is not a backup of a known database ({', '.join(DATABASE_NAMES)})"
        )
    try:
        taken = datetime.strptime(stamp, KEY_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidBackupKeyError(f"{key!r} has an impossible timestamp {stamp}") from None
    return BackupKey(taken, name)


def try_parse(key: str) -> BackupKey | None:
    try:
        return parse_backup_key(key)
    except InvalidBackupKeyError:
        return None
