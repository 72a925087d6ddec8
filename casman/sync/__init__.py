"""The sync engine: consistent snapshots, backup/list/restore/sync/status/maintain."""
