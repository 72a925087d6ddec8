"""The spec's tables as change records see them: columns, surrogate ids, natural keys.

Constants only (no imports), so that opening a database — which installs the capture of
writes — costs nothing beyond SQLite itself.
"""

# table -> its columns (without the surrogate ``id``), in the spec's order
COLUMNS: dict[str, tuple[str, ...]] = {
    "parts": ("part_number", "part_type", "polarization", "date_created", "date_modified"),
    "assembly": (
        "part_number",
        "part_type",
        "polarization",
        "scan_time",
        "connected_to",
        "connected_to_type",
        "connected_polarization",
        "connected_scan_time",
        "connection_status",
    ),
    "antenna_positions": (
        "antenna_number",
        "array_id",
        "row_offset",
        "east_col",
        "grid_code",
        "assigned_at",
        "notes",
        "latitude",
        "longitude",
        "height",
        "coordinate_system",
    ),
    "snap_boards": (
        "chassis",
        "slot",
        "serial_number",
        "mac_address",
        "ip_address",
        "feng_id",
        "notes",
        "date_added",
        "date_modified",
    ),
    "grid_positions": (
        "grid_code",
        "latitude",
        "longitude",
        "height",
        "coordinate_system",
        "notes",
    ),
}
TABLES = tuple(COLUMNS)
ID_TABLES = frozenset({"parts", "assembly", "antenna_positions", "snap_boards"})
"""Tables with an ``id INTEGER PRIMARY KEY`` surrogate (``grid_positions`` has none)."""
AUTOINCREMENT_TABLES = frozenset({"antenna_positions", "snap_boards"})

# the SQL expression of a row's natural key, over NEW./OLD. columns (used by the capture)
KEY_SQL: dict[str, str] = {
    "parts": "{r}.part_number",
    "assembly": "{r}.part_number || '>' || {r}.connected_to",
    "antenna_positions": "{r}.antenna_number",
    "snap_boards": "{r}.chassis || {r}.slot",
    "grid_positions": "{r}.grid_code",
}
