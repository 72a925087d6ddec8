"""Every environment variable casman reads, for the "Environment variables" part of
``casman --help``.

Kept as a plain table, not gathered from the plugins at run time: ``casman --help`` must
not import the storage machinery. ``tests/test_daily_use.py`` collects the variables the
code and the installed backends really read and fails when one is missing here, so the
table cannot fall behind.
"""

from __future__ import annotations

ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("CASMAN_CONFIG", "config.yaml to read (as --config)."),
    ("CASMAN_DATABASE_DIR", "Folder of the databases (as --database-dir)."),
    ("CASMAN_SYNC_ENABLED", "false: no request to any storage backend."),
    ("CASMAN_SYNC_BACKEND", "Backend: local, s3, r2, fsspec or a plugin's."),
    ("CASMAN_AUTO_BACKUP", "false: no automatic backups after changes."),
    ("CASMAN_LOCAL_PATH", "Folder of the local backend's backups."),
    (
        "CASMAN_S3_BUCKET, CASMAN_S3_ENDPOINT, CASMAN_S3_CONNECT_TIMEOUT,\n"
        "CASMAN_S3_READ_TIMEOUT, CASMAN_S3_MAX_ATTEMPTS, AWS_ACCESS_KEY_ID,\n"
        "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_DEFAULT_REGION, AWS_REGION",
        "Settings of the s3 backend.",
    ),
    (
        "R2_ACCOUNT_ID, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY, R2_BUCKET_NAME,\n"
        "R2_ENDPOINT, R2_CONNECT_TIMEOUT, R2_READ_TIMEOUT, R2_MAX_ATTEMPTS",
        "Settings of the r2 backend.",
    ),
    ("CASMAN_FSSPEC_URL, CASMAN_FSSPEC_OPTIONS", "Settings of the fsspec backend."),
    ("CASMAN_LOAD_PLUGINS", "Plugins to load, comma-separated (default all)."),
    ("CASMAN_TRACE_PLUGINS", "1: one line per storage request on stderr."),
    ("CASMAN_AUTO_SYNC_ON_INSTALL", "Python API: follow the backend before reading."),
    ("XDG_CONFIG_HOME", "config.yaml in $XDG_CONFIG_HOME/casman."),
    ("XDG_DATA_HOME", "Databases and backups: $XDG_DATA_HOME/casman."),
    ("XDG_CACHE_HOME", "API's followed copy: $XDG_CACHE_HOME/casman."),
    ("HOME, LOCALAPPDATA", "Where ~ and the folders above default to."),
    ("TZ", "Zone of an older CAsMan's times (database migrate)."),
)
"""(names, what they do); a row may name several variables, one group per line."""


def environment_names() -> set[str]:
    """Every variable named in :data:`ENVIRONMENT`."""
    return {
        name.strip()
        for names, _ in ENVIRONMENT
        for name in names.replace("\n", ",").split(",")
        if name.strip()
    }
